/** The people's table of a `vm` section: per-vCPU figures, then one line per measured block. */
import Table from 'cli-table3';
import { wrap } from '../../text.js';
import type { VmSectionData } from './data.js';

const BARS = '▁▂▃▄▅▆▇█';

/** `values` as a one-line bar chart of at most `width` characters (averaging neighbours when longer). */
export function sparkline(values: readonly number[], width = 100): string {
  if (!values.length) return '';
  const per = Math.ceil(values.length / width);
  const pts: number[] = [];
  for (let i = 0; i < values.length; i += per) {
    const chunk = values.slice(i, i + per);
    pts.push(chunk.reduce((s, v) => s + v, 0) / chunk.length);
  }
  const max = Math.max(...pts);
  return pts.map((v) => (max > 0 ? BARS[Math.min(7, Math.floor((v / max) * 7.999))] : BARS[0])).join('');
}

const m = (v: number) => (v / 1e6).toFixed(v >= 1e8 ? 0 : 2);
const mib = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const stat = (xs: number[]) => (xs.length ? `${Math.min(...xs)}..${Math.max(...xs)}` : '-');

/** Renders the section within 120 columns. */
export function vmTable(d: VmSectionData): string {
  const c = d.config;
  const lines = [
    `VM: ${d.design} memslots, ${c.addressSpaces} address space${c.addressSpaces > 1 ? 's' : ''}, ${c.memslots} memslots at set-up, ` +
      `${c.vcpus.length} vCPU${c.vcpus.length > 1 ? 's' : ''}, ${d.seconds.toFixed(2)} s (machine: ${d.machine.cpus} cpus, node ${d.machine.node})`,
  ];
  const t = new Table({
    head: ['vCPU', 'guest', 'M acc/s', 'per interval', 'exits', 'TLB misses', 'faults'],
    style: { head: [], border: [] },
  });
  for (const v of d.vcpus) {
    const rows = d.vcpuSeries.filter((r) => r.vcpu === v.id);
    const rates = rows.map((r) => r.accessesPerSecond);
    const exits = v.exits ? Object.entries(v.exits).map(([k, n]) => `${k} ${n}`).join(', ') : '-';
    t.push([
      v.id, v.guest.length > 20 ? `…${v.guest.slice(-19)}` : v.guest,
      v.accessesPerSecond === undefined ? '-' : m(v.accessesPerSecond),
      v.accessesPerSecond === undefined || !rates.length ? '-' : `[${m(Math.min(...rates))}, ${m(Math.max(...rates))}]`,
      wrap(exits, 26).join('\n'), v.stats?.tlbMisses ?? '-', v.stats?.pageFaults ?? '-',
    ]);
  }
  lines.push(t.toString(), `M acc/s: guest accesses per second (millions) over the run; per interval: [min, max] over ${c.interval * 1000} ms intervals`);
  for (const v of d.vcpus) if (v.values?.length) lines.push(`vCPU ${v.id}'s guest reported: ${v.values.join(', ')}${v.guest === 'pci-scan' ? ' (hole accesses, functions found, config accesses)' : ''}`);
  const perInterval = d.series.map((row) => row.accessesPerSecond ?? 0);
  if (d.vcpus.some((v) => v.accessesPerSecond !== undefined) && perInterval.length > 1) {
    lines.push(`guest accesses/s, all vCPUs, per ${c.interval * 1000} ms: ${sparkline(perInterval, 60)} (max ${m(Math.max(...perInterval))} M)`);
  }
  if (d.generation) lines.push(`memslot generation: ${d.generation.start.map((s, as) => `AS${as} ${s} → ${d.generation!.end[as]} (${d.generation!.swaps[as]} swaps)`).join(', ')}`);
  if (d.churn) {
    const ch = d.churn;
    lines.push(`churn: ${ch.ops} memslot changes (create ${ch.byOp.create}, move ${ch.byOp.move}, delete ${ch.byOp.delete}), ${ch.opsPerSecond.toFixed(0)}/s, ` +
      `${ch.meanUs.toFixed(1)} µs each on average, ${ch.maxUs.toFixed(0)} µs at most`);
    if (d.series.length > 1) lines.push(`  changes per interval: ${sparkline(d.series.map((r) => r.churnOps ?? 0), 60)}`);
  }
  if (d.dirtyRounds) {
    const r = d.dirtyRounds;
    const get = r.map((x) => x.getUs);
    lines.push(`dirty log: ${r.length} rounds; dirty pages per round ${stat(r.map((x) => x.dirtyPages))} of ${r[0]?.slotPages ?? 0}; ` +
      `KVM_GET_DIRTY_LOG ${get.length ? (get.reduce((s, x) => s + x, 0) / get.length).toFixed(0) : '-'} µs on average` +
      `${r.some((x) => x.clearUs > 0) ? `, KVM_CLEAR_DIRTY_LOG ${(r.reduce((s, x) => s + x.clearUs, 0) / r.length).toFixed(0)} µs` : ''}`);
    if (r.length > 1) lines.push(`  dirty pages per round: ${sparkline(r.map((x) => x.dirtyPages), 60)}`);
  }
  for (const a of d.actions.slice(0, 8)) lines.push(`at ${a.t.toFixed(3)} s: ${a.action} ${a.detail} (${a.us.toFixed(0)} µs)`);
  if (d.actions.length > 8) lines.push(`... and ${d.actions.length - 8} more host actions (result.json)`);
  if (d.mmu) lines.push(`MMU (host side): ${d.mmu.zapped} sptes zapped, ${d.mmu.writeProtected} write-protected, ${d.mmu.tlbFlushes} remote TLB flushes`);
  if (d.memory) lines.push(`memory: ${mib(d.memory.residentBytes)} resident, ${mib(d.memory.kernelBytes)} kernel, memslot sets and bitmaps ${mib(d.memory.memslotBytes)}, ${d.memory.nrMemslotPages} memslot pages`);
  return lines.flatMap((l) => (l.includes('\n') || l.length <= 118 ? [l] : wrap(l, 118))).join('\n');
}
