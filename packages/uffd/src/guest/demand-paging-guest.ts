/**
 * The guest of a demand-paging run: memstress_guest_code's access pattern (the first 8 bytes of
 * every page of its region, once), reading them and checking them against the source's pattern.
 * It records when each access started and ended (on the VMM's clock) so that the VMM can compute
 * fault latency and blocktime.
 *
 * Each vCPU thread compiles its fault path anew, so the guest first faults a warm-up region of its
 * own through the same path, then syncs; the VMM runs the measured pass once every vCPU is warm.
 * The warm-up is two halves, each ended by a `sync` ucall, and runs in chunks: by the measured pass
 * every function on the way has been optimized with the feedback of everything the pass meets (its
 * entry, the ucall exit the handlers also see), so nothing deoptimizes and runs unoptimized in it.
 *
 * It also measures what faults allocate on this thread's heap: the measured pass is run twice, once
 * faulting and once again with every page present; the difference in bytes allocated in new space
 * (its growth, plus what each scavenge took out of it, from V8's GC profiler) is what the faults
 * allocated, the guest's own loop cancelling out.
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
  /** A region of its own to fault before the measured pass (JIT warm-up), then a `sync` ucall. */
  warmupGpa: number;
  warmupPages: number;
}

/** `sync` ucalls the warm-up makes (the VMM runs the vCPUs this many times before the measured pass). */
export const WARMUP_SYNCS = 2;
/** Pages per call of `pass` in the warm-up. */
const WARMUP_CHUNK = 512;

/** Indexes of the values the guest's `done` ucall carries. */
export const GUEST_WRONG_WORDS = 0;
export const GUEST_FIRST_WRONG_GPA = 1;
export const GUEST_FAULT_BYTES = 2;
export const GUEST_PRESENT_BYTES = 3;
export const GUEST_GCS = 4;
export const GUEST_MEASURED = 5;
export const GUEST_START = 6;
export const GUEST_END = 7;

function newSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
}

interface GcEvent {
  beforeGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
  afterGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
}

/** Bytes allocated in new space between two readings `u0` and `u1` with `gcs` in between. */
function allocated(u0: number, u1: number, gcs: readonly GcEvent[]): number {
  const used = (x: GcEvent['beforeGC']): number => x.heapSpaceStatistics.find((s) => s.spaceName === 'new_space')?.spaceUsedSize ?? 0;
  return u1 - u0 + gcs.reduce((s, g) => s + used(g.beforeGC) - used(g.afterGC), 0);
}

/** One pass over pages [from, to): read and check the first 8 bytes of each, timing the first read. */
function pass(ctx: GuestContext, gpa: number, t: Float64Array, shift: number, from: number, to: number, wrong: Int32Array): void {
  const firstGfn = Math.floor(gpa / 4096);
  for (let p = from; p < to; p++) {
    const a = gpa + p * 4096;
    const t0 = performance.now();
    const w0 = ctx.read32(a) | 0;
    const t1 = performance.now();
    const w1 = ctx.read32(a + 4) | 0;
    t[2 * p] = t0 + shift;
    t[2 * p + 1] = t1 + shift;
    if (w0 !== patternWord(firstGfn + p, 0) || w1 !== patternWord(firstGfn + p, 1)) {
      if (wrong[0]++ === 0) wrong[1] = p;
    }
  }
}

/** Runs the pass; returns the GUEST_* values. */
export function demandPagingGuest(ctx: GuestContext, raw: unknown): number[] {
  const a = raw as DemandPagingGuestArgs;
  const t = new Float64Array(a.timeline, a.offset * 8, 2 * a.pages);
  const again = new Float64Array(2 * a.pages);
  const shift = performance.timeOrigin - a.timeOrigin;
  const wrong = new Int32Array(2);
  const ignored = new Int32Array(2);
  if (a.warmupPages > 0) {
    const scratch = new Float64Array(2 * a.warmupPages);
    for (let s = 0; s < WARMUP_SYNCS; s++) {
      const end = Math.floor((a.warmupPages * (s + 1)) / WARMUP_SYNCS);
      for (let p = Math.floor((a.warmupPages * s) / WARMUP_SYNCS); p < end; p += WARMUP_CHUNK) {
        pass(ctx, a.warmupGpa, scratch, shift, p, Math.min(end, p + WARMUP_CHUNK), wrong);
      }
      ctx.ucall('sync', [wrong[0], s]);
    }
  }
  const profiler = new GCProfiler();
  profiler.start();
  const start = performance.now() + shift;
  const f0 = newSpaceUsed();
  pass(ctx, a.gpa, t, shift, 0, a.pages, wrong);
  const f1 = newSpaceUsed();
  const end = performance.now() + shift;
  const faultGcs = (profiler.stop()?.statistics ?? []) as unknown as GcEvent[];
  profiler.start();
  const p0 = newSpaceUsed();
  pass(ctx, a.gpa, again, shift, 0, a.pages, ignored);
  const p1 = newSpaceUsed();
  const presentGcs = (profiler.stop()?.statistics ?? []) as unknown as GcEvent[];
  const gcs = faultGcs.length + presentGcs.length;
  return [wrong[0], wrong[0] ? a.gpa + wrong[1] * 4096 : -1, allocated(f0, f1, faultGcs), allocated(p0, p1, presentGcs), gcs, a.pages, start, end];
}
