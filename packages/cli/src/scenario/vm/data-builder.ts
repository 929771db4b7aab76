/** The `vm` section's data document (data.ts) from what a run recorded, with the blocks `measure` asks for. */
import type { StepContext } from '../run/context.js';
import type { VmStep } from '../schema/vm.js';
import type { BuiltVm } from './build.js';
import type { VmSectionData, VmSeriesRow, VmVcpuSeriesRow } from './data.js';
import type { Recorder } from './recorder.js';
import type { VcpuRunner } from './vmm-loop.js';

/** The series fields each measure brings, with their units. */
const SERIES_FIELDS: Record<string, Record<string, string>> = {
  accesses: { accessesPerSecond: 'guest accesses/s' },
  exits: { tlbMisses: 'per interval', pageFaults: 'per interval', mmioExits: 'per interval' },
  generation: { generation: 'kvm_memslots(0)->generation' },
  churn: { churnOps: 'memslot changes per interval' },
  mmu: { tlbFlushes: 'per interval', zapped: 'sptes per interval' },
  'dirty-log': { dirtyPages: 'pages per interval' },
};

/** Only `fields` (and `t`, `vcpu`) of each row. */
function pick<T extends object>(rows: readonly T[], fields: Set<string>): T[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k === 't' || k === 'vcpu' || fields.has(k))) as T);
}

/** Values of a ucall as JSON keeps them: bigints as strings. */
const json = (vs: readonly (number | bigint)[]) => vs.map((v) => (typeof v === 'bigint' ? v.toString() : v));

/** Builds the document; reads the vCPUs' counters, so it runs before they are destroyed. */
export function vmData(ctx: StepContext, step: VmStep, design: 'tree' | 'array', title: string, built: BuiltVm, runners: readonly VcpuRunner[], rec: Recorder, seconds: number): VmSectionData {
  const want = new Set<string>(step.measure);
  // A block with no action behind it would only chart zeros.
  if (!step.timeline.some((a) => a.action === 'churn')) want.delete('churn');
  if (!step.timeline.some((a) => a.action === 'dirty-log')) want.delete('dirty-log');
  const units: Record<string, string> = Object.assign({}, ...[...want].map((m) => SERIES_FIELDS[m] ?? {}));
  const fields = new Set(Object.keys(units));
  const { vm } = built;
  const data: VmSectionData = {
    vm: 'scenario', title, machine: ctx.machine, design, seconds,
    config: {
      addressSpaces: step.addressSpaces, disabledCaps: step.disabledCaps, enableCaps: step.enableCaps, hostMemory: built.hostMemory,
      regions: step.regions, memslots: built.memslots, vcpus: runners.map((r) => ({ id: r.plan.id, guest: r.plan.guestName })),
      duration: step.duration, interval: step.interval, measure: step.measure,
    },
    units,
    series: pick<VmSeriesRow>(rec.series, fields),
    vcpuSeries: pick<VmVcpuSeriesRow>(rec.vcpuSeries, fields),
    vcpus: runners.map((r) => ({
      id: r.plan.id, guest: r.plan.guestName, finished: r.finished,
      ...(want.has('accesses') && r.plan.countsAccesses ? { accesses: r.accesses, accessesPerSecond: r.accesses / seconds } : {}),
      ...(want.has('exits') ? { exits: { ...r.exits }, stats: r.vcpu.stats() } : {}),
      ...(r.plan.countsAccesses ? {} : { values: json(r.values) }),
    })),
    actions: rec.actions,
  };
  if (want.has('generation')) {
    const start = Array.from({ length: step.addressSpaces }, (_, as) => as);
    const end = start.map((as) => Number(vm.memslotGeneration(as)));
    // Each swap adds the address-space count to the generation of the AS it swaps.
    data.generation = { start, end, swaps: end.map((g, as) => (g - start[as]) / step.addressSpaces) };
  }
  if (want.has('churn')) {
    // The rate while the churn ran, not over the whole step.
    const active = Math.max(...step.timeline.map((a) => (a.action === 'churn' ? Math.min(a.until ?? step.duration, seconds) - (a.at ?? a.from ?? 0) : 0)));
    data.churn = {
      ops: rec.churnOps, byOp: { ...rec.churnByOp }, opsPerSecond: active > 0 ? rec.churnOps / active : rec.churnOps, meanUs: rec.churnOps ? rec.churnUs / rec.churnOps : 0,
      maxUs: rec.churnMaxUs, events: rec.churnEvents, truncated: rec.churnEvents.length < rec.churnOps,
    };
  }
  if (want.has('dirty-log')) data.dirtyRounds = rec.dirtyRounds;
  if (want.has('mmu')) {
    const m = vm.mmuStats();
    data.mmu = { zapped: m.zapped, writeProtected: m.writeProtected, tlbFlushes: m.tlbFlushes };
  }
  if (want.has('memory')) {
    data.memory = { residentBytes: vm.host.residentBytes(), kernelBytes: vm.host.kernelBytes(), memslotBytes: vm.memslotBytes(), nrMemslotPages: vm.nrMemslotPages };
  }
  return data;
}
