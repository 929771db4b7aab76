/** What a `vm` step records while it runs: host-side events and the per-interval samples. */
import type { Vm } from '@vcpu-rt/core';
import type { ChurnEvent, DirtyLogRound, VmSeriesRow, VmVcpuSeriesRow } from './data.js';
import type { VcpuRunner } from './vmm-loop.js';

/** Churn events kept one by one in the report; past this only their totals grow. */
export const MAX_CHURN_EVENTS = 5000;

/** The recorder of one step. */
export class Recorder {
  readonly churnEvents: ChurnEvent[] = [];
  readonly churnByOp = { create: 0, move: 0, delete: 0 };
  churnOps = 0;
  churnUs = 0;
  churnMaxUs = 0;
  private readonly churnBuckets: number[] = [];
  readonly dirtyRounds: DirtyLogRound[] = [];
  readonly actions: { t: number; action: string; detail: string; us: number }[] = [];
  readonly series: VmSeriesRow[] = [];
  readonly vcpuSeries: VmVcpuSeriesRow[] = [];
  private readonly dirtyBuckets: number[] = [];
  private sampled = 0;
  private lastMmu = { tlbFlushes: 0, zapped: 0 };

  constructor(private readonly vm: Vm, private readonly runners: readonly VcpuRunner[], readonly interval: number) {
    const m = vm.mmuStats();
    this.lastMmu = { tlbFlushes: m.tlbFlushes, zapped: m.zapped };
  }

  /** One churn operation at `t` seconds. */
  churn(t: number, op: ChurnEvent['op'], slot: number, us: number): void {
    this.churnOps++;
    this.churnByOp[op]++;
    this.churnUs += us;
    this.churnMaxUs = Math.max(this.churnMaxUs, us);
    const k = Math.floor(t / this.interval);
    this.churnBuckets[k] = (this.churnBuckets[k] ?? 0) + 1;
    if (this.churnEvents.length < MAX_CHURN_EVENTS) this.churnEvents.push({ t, op, slot, us });
  }

  /** One dirty-log round. */
  dirty(round: DirtyLogRound): void {
    this.dirtyRounds.push(round);
    const k = Math.floor(round.t / this.interval);
    this.dirtyBuckets[k] = (this.dirtyBuckets[k] ?? 0) + round.dirtyPages;
  }

  /** Time of the next interval boundary not yet sampled, seconds. */
  nextSample(): number {
    return (this.sampled + 1) * this.interval;
  }

  /**
   * Closes the intervals that ended by `t` (seconds): one row per interval, and one per interval
   * and vCPU. `end` closes the last, possibly shorter, interval at the step's end. Rates are over the
   * interval's own length; the TLB flushes and zaps of an interval are those of the VMM thread.
   */
  sample(t: number, end = false): void {
    while ((this.sampled + 1) * this.interval <= t + 1e-9 || (end && this.sampled * this.interval < t - 1e-9)) {
      const k = this.sampled;
      const start = k * this.interval;
      const width = Math.min(this.interval, Math.max(1e-9, t - start));
      const m = this.vm.mmuStats();
      const row: VmSeriesRow = { t: round(start), accessesPerSecond: 0, tlbMisses: 0, pageFaults: 0, mmioExits: 0 };
      for (const r of this.runners) {
        const st = r.vcpu.stats();
        const v: VmVcpuSeriesRow = {
          t: row.t, vcpu: r.plan.id, accessesPerSecond: (r.buckets[k] ?? 0) / width,
          tlbMisses: st.tlbMisses - r.last.tlbMisses, pageFaults: st.pageFaults - r.last.pageFaults, mmioExits: st.mmioExits - r.last.mmioExits,
        };
        r.last = st;
        this.vcpuSeries.push(v);
        row.accessesPerSecond! += v.accessesPerSecond;
        row.tlbMisses! += v.tlbMisses;
        row.pageFaults! += v.pageFaults;
        row.mmioExits! += v.mmioExits;
      }
      Object.assign(row, {
        generation: Number(this.vm.memslotGeneration(0)), churnOps: this.churnBuckets[k] ?? 0,
        tlbFlushes: m.tlbFlushes - this.lastMmu.tlbFlushes, zapped: m.zapped - this.lastMmu.zapped, dirtyPages: this.dirtyBuckets[k] ?? 0,
      });
      this.lastMmu = { tlbFlushes: m.tlbFlushes, zapped: m.zapped };
      this.series.push(row);
      this.sampled++;
    }
  }
}

function round(t: number): number {
  return Math.round(t * 1e6) / 1e6;
}
