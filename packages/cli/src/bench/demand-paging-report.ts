/** The people's table of `vcpu-rt bench demand-paging`: ours beside table A, with the exit/uffd ratio of each. */
import Table from 'cli-table3';
import type { DemandPagingRow } from './demand-paging.js';
import { TABLE_A, TABLE_A_SOURCE } from './published-postcopy.js';
import { wrap } from '../text.js';
import type { MachineInfo } from './stats.js';

const k = (v: number): string => (v / 1000).toFixed(v < 10_000 ? 2 : 1);
/** Two decimals, without the sign of a figure that rounds to zero ("-0.00"). */
const f2 = (v: number): string => (Math.abs(v) < 0.005 ? 0 : v).toFixed(2);
const ratio = (a: number | undefined, b: number | undefined): string => (a && b ? `${(a / b).toFixed(2)}x` : '-');

/** Renders one line per vCPU count: both paths' overall rates [min, max], the ratio, table A's row and ratio, and the contention counters. */
export function demandPagingTable(rows: readonly DemandPagingRow[], machine: MachineInfo): string {
  const o = rows[0]?.options;
  const t = new Table({
    head: ['vCPUs', 'threads', 'uffd K/s [min, max]', 'exit K/s [min, max]', 'exit/uffd', 'table A uffd/exit', 'walk/wake', 'Lp cont.'],
    style: { head: [], border: [] },
  });
  const counts = [...new Set(rows.map((r) => r.vcpus))];
  const latencies: string[] = [];
  const allocs: string[] = [];
  for (const v of counts) {
    const u = rows.find((r) => r.vcpus === v && r.path === 'uffd');
    const e = rows.find((r) => r.vcpus === v && r.path === 'exit');
    const a = TABLE_A.find((x) => x.vcpus === v);
    const lp = u?.uffd.locks.faultPendingWqh;
    t.push([
      v,
      `${v}+${u?.readers.threads ?? e?.readers.threads ?? 0}${(u ?? e)?.oversubscribed ? '*' : ''}`,
      u ? `${k(u.overall.median)} [${k(u.overall.min)}, ${k(u.overall.max)}]` : '-',
      e ? `${k(e.overall.median)} [${k(e.overall.min)}, ${k(e.overall.max)}]` : '-',
      ratio(e?.overall.median, u?.overall.median),
      a ? `${a.uffdK}/${a.exitK} = ${(a.exitK / a.uffdK).toFixed(2)}x` : '-',
      u ? u.uffd.wakes.meanWalked.toFixed(2) : '-',
      lp ? `${((100 * lp.contended) / Math.max(1, lp.acquisitions)).toFixed(1)}%` : '-',
    ]);
    // Results saved before the warm-up had rounds carry no `warmup`: '-'.
    const paths = [u && ['uffd', u], e && ['exit', e]].filter((x): x is [string, DemandPagingRow] => !!x);
    allocs.push(`${v}: ${paths.map(([n, r]) => `${n} ${f2(r.alloc.bytesPerFault)} (${r.warmup?.rounds ?? '-'})`).join(', ')}`);
    if (u) latencies.push(`${v}: ${u.latency.p50Us.toFixed(0)}/${u.latency.p99Us.toFixed(0)}${e ? ` vs ${e.latency.p50Us.toFixed(1)}/${e.latency.p99Us.toFixed(1)}` : ''}`);
  }
  const rest = TABLE_A.filter((a) => !counts.includes(a.vcpus)).map((a) => `${a.vcpus}: ${a.uffdK}K / ${a.exitK}K = ${(a.exitK / a.uffdK).toFixed(1)}x`);
  const lines = [
    `machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}`,
    `overall demand paging rate (K pages/s, all vCPUs together), median of ${rows[0]?.overall.repeats ?? 0} runs [min, max]`,
    o ? `config: -b ${o.bytesPerVcpu >> 20}M -u ${o.mode.toUpperCase()}${o.singleUffd ? ' -a' : ''} -r ${o.readers === 'per-vcpu' ? 'n' : o.readers}` +
      `${o.handlerDelayUs ? ` -d ${o.handlerDelayUs}` : ''}${o.overlap ? ' -o' : ''}, fetch latency ${o.fetchLatencyUs} µs, reader wake-ups ${o.wake}, warm-up ${o.warmupPages} pages per vCPU` : '',
    t.toString(),
    `threads = vCPUs + reader threads (* = more runnable threads than cpus: oversubscribed, the OS time-slices them)`,
    `walk/wake = waiters __wake_userfault visited per wake (every blocked fault, no early exit)`,
    `Lp cont. = acquisitions of fault_pending_wqh.lock (uffd path) that found it held`,
    ...wrap(allocs.length ? `bytes the vCPU threads allocated per fault (warm-up rounds before the measured pass): ${allocs.join('; ')}` : '', 120),
    ...wrap(latencies.length ? `fault latency p50/p99 µs, uffd vs exit path: ${latencies.join('; ')}` : '', 120),
    `table A (K pages/s): ${TABLE_A_SOURCE}`,
    ...wrap(rest.length ? `  rows not run here: ${rest.join('; ')}` : '', 116),
  ];
  return lines.filter((l) => l !== '').join('\n');
}
