/**
 * The guest of a demand-paging run: memstress_guest_code's access pattern (the first 8 bytes of
 * every page of its region, once), reading them and checking them against the source's pattern.
 * It records when each access started and ended (on the VMM's clock) so that the VMM can compute
 * fault latency and blocktime, and measures what the second half of its faults allocated on this
 * thread's heap (after warm-up, when the fault path and handler are compiled).
 */
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';
import type { GuestContext } from '@vcpu-rt/vcpu';
import { patternWord } from '../source/pattern.js';

/** Arguments of the guest. */
export interface DemandPagingGuestArgs {
  /** First gpa of this vCPU's region, and its pages. */
  gpa: number;
  pages: number;
  /** Float64 [start, end] ms per page, this vCPU's slice at `offset` (in Float64s). */
  timeline: SharedArrayBuffer;
  offset: number;
  /** performance.timeOrigin of the VMM thread: times are written on its clock. */
  timeOrigin: number;
}

function newSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
}

/** Returns [wrong words, first wrong gpa or -1, bytes allocated over the measured faults, GCs meanwhile, faults measured, loop start, loop end]. */
export function demandPagingGuest(ctx: GuestContext, raw: unknown): number[] {
  const a = raw as DemandPagingGuestArgs;
  const t = new Float64Array(a.timeline, a.offset * 8, 2 * a.pages);
  const shift = performance.timeOrigin - a.timeOrigin;
  const half = a.pages >> 1;
  const profiler = new GCProfiler();
  let before = 0;
  let bad = 0;
  let firstBad = -1;
  const firstGfn = Math.floor(a.gpa / 4096);
  const start = performance.now() + shift;
  for (let p = 0; p < a.pages; p++) {
    if (p === half) {
      profiler.start();
      before = newSpaceUsed();
    }
    const gpa = a.gpa + p * 4096;
    const t0 = performance.now();
    const w0 = ctx.read32(gpa) | 0;
    const t1 = performance.now();
    const w1 = ctx.read32(gpa + 4) | 0;
    t[2 * p] = t0 + shift;
    t[2 * p + 1] = t1 + shift;
    const gfn = firstGfn + p;
    if (w0 !== patternWord(gfn, 0) || w1 !== patternWord(gfn, 1)) {
      bad++;
      if (firstBad < 0) firstBad = gpa;
    }
  }
  const end = performance.now() + shift;
  const allocated = newSpaceUsed() - before;
  const gcs = profiler.stop()?.statistics.length ?? 0;
  return [bad, firstBad, allocated, gcs, a.pages - half, start, end];
}
