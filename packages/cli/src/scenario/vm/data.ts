/**
 * The data document of a `vm` section (`kind: 'vm'`), what a scenario's own VM reports. Times are
 * seconds since the guests started. Shape:
 *
 * ```
 * {
 *   vm: 'scenario', title, machine, design: 'tree' | 'array', seconds,  // wall time the guests ran
 *   config: { addressSpaces, disabledCaps, enableCaps, hostMemory, regions, memslots, vcpus, duration, interval, measure },
 *   units: { <series field>: <unit> },
 *   series: [{ t, accessesPerSecond, tlbMisses, pageFaults, mmioExits, generation, churnOps, tlbFlushes, zapped, dirtyPages }],
 *   vcpuSeries: [{ t, vcpu, accessesPerSecond, tlbMisses, pageFaults, mmioExits }],
 *   vcpus: [{ id, guest, finished, accesses?, accessesPerSecond?, exits?, stats?, values? }],
 *   actions: [{ t, action, detail, us }],        // one-shot host actions (dontneed, memslot)
 *   dirtyRounds?: [{ t, slot, dirtyPages, slotPages, getUs, clearUs }],
 *   generation?: { start, end, swaps },           // per address space
 *   churn?: { ops, byOp, opsPerSecond, meanUs, maxUs, events, truncated },
 *   mmu?: { zapped, writeProtected, tlbFlushes },
 *   memory?: { residentBytes, kernelBytes, memslotBytes, nrMemslotPages },
 * }
 * ```
 *
 * `series` has one row per interval (`t` its start, in seconds) whose every other field is a number
 * a chart can plot against `t` as it is: guest accesses per second and the vCPUs' TLB misses, page
 * faults and MMIO exits over all vCPUs; the memslot generation of address space 0 at the interval's
 * end; memslot changes the churn made, remote TLB flushes and sptes zapped by host actions, and
 * pages the dirty-log rounds found dirty, in the interval. `vcpuSeries` is the same per vCPU (one
 * row per interval and vCPU). Guest accesses are counted by the memstress guest's sync exits (one
 * per round) and land in the interval in which the round's sync arrived. Blocks marked `?` are
 * there when `measure` names them; the series fields of an unmeasured block are left out too.
 */
import type { CpuStats } from '@vcpu-rt/vcpu';
import type { MachineInfo } from '../../bench/stats.js';
import type { Measure } from '../schema/vm.js';

/** One vCPU's totals. */
export interface VmVcpuReport {
  id: number;
  /** `memstress`, `ops`, ..., or `module:<file>#<export>`. */
  guest: string;
  /** The guest ended (done, halt, shutdown) before the step did. */
  finished: boolean;
  /** Guest accesses the memstress guest reported, over the whole step. */
  accesses?: number;
  accessesPerSecond?: number;
  /** Exits that reached the VMM, by kind: io-sync, io-done, mmio-read, mmio-write, memory-fault, hlt, shutdown, internal-error. */
  exits?: Record<string, number>;
  /** The vCPU's own counters (TLB misses, page faults, MMIO exits, ...). */
  stats?: CpuStats;
  /** Values of the guest's last ucall (its result, for `ops` and module guests). */
  values?: (number | string)[];
}

/** One interval of one vCPU. */
export interface VmVcpuSeriesRow {
  t: number;
  vcpu: number;
  accessesPerSecond: number;
  tlbMisses: number;
  pageFaults: number;
  mmioExits: number;
}

/** One interval of the VM (fields of unmeasured blocks are left out). */
export interface VmSeriesRow {
  t: number;
  /** Guest accesses per second over every vCPU. */
  accessesPerSecond?: number;
  tlbMisses?: number;
  pageFaults?: number;
  mmioExits?: number;
  /** kvm_memslots(0)->generation at the end of the interval. */
  generation?: number;
  /** Memslot changes the churn made in the interval. */
  churnOps?: number;
  /** Remote TLB flushes and sptes zapped by host-side actions in the interval. */
  tlbFlushes?: number;
  zapped?: number;
  /** Pages the dirty-log rounds of the interval found dirty. */
  dirtyPages?: number;
}

/** One churn operation. */
export interface ChurnEvent {
  t: number;
  op: 'create' | 'move' | 'delete';
  slot: number;
  us: number;
}

/** One dirty-log round. */
export interface DirtyLogRound {
  t: number;
  slot: number;
  /** Bits set in the bitmap KVM_GET_DIRTY_LOG returned. */
  dirtyPages: number;
  slotPages: number;
  getUs: number;
  /** KVM_CLEAR_DIRTY_LOG's time; 0 when the round did not clear. */
  clearUs: number;
}

/** The section's data. */
export interface VmSectionData {
  vm: 'scenario';
  /** The section's title, also the heading of its chart. */
  title: string;
  machine: MachineInfo;
  design: 'tree' | 'array';
  seconds: number;
  config: {
    addressSpaces: number;
    disabledCaps: string[];
    enableCaps: { cap: string; flags: string[] }[];
    hostMemory: number;
    regions: { name: string; size: number; memfd: boolean; populate: boolean }[];
    /** Memslots created at set-up. */
    memslots: number;
    vcpus: { id: number; guest: string }[];
    duration: number;
    interval: number;
    measure: Measure[];
  };
  /** The unit of each `series` field. */
  units: Record<string, string>;
  series: VmSeriesRow[];
  vcpuSeries: VmVcpuSeriesRow[];
  vcpus: VmVcpuReport[];
  actions: { t: number; action: string; detail: string; us: number }[];
  dirtyRounds?: DirtyLogRound[];
  generation?: { start: number[]; end: number[]; swaps: number[] };
  churn?: { ops: number; byOp: Record<'create' | 'move' | 'delete', number>; opsPerSecond: number; meanUs: number; maxUs: number; events: ChurnEvent[]; truncated: boolean };
  mmu?: { zapped: number; writeProtected: number; tlbFlushes: number };
  memory?: { residentBytes: number; kernelBytes: number; memslotBytes: number; nrMemslotPages: number };
}
