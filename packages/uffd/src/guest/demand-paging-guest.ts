/**
 * The guest of a demand-paging run: memstress_guest_code's access pattern (the first 8 bytes of
 * every page of its region, once), reading them and checking them against the source's pattern.
 * It records when each access started and ended (on the VMM's clock) so that the VMM can compute
 * fault latency and blocktime.
 *
 * Each vCPU thread compiles its fault path anew, so the guest first faults a warm-up region of its
 * own through the same path, in rounds, each ended by a `sync` ucall that carries what the round's
 * faults allocated per page (measured as the measured pass is, below). Between rounds the VMM zaps
 * the warm-up regions (MADV_DONTNEED, claims reset), so every round faults through the whole path
 * again without more memory; it asks for another round (WARMUP_AGAIN in `control`) until the
 * figure has settled: V8 has then optimized the path with the feedback of everything the measured
 * pass meets, the ucall exit included. Under oversubscription V8's compiler threads compete with
 * the vCPUs for the CPUs, so that can take several rounds; a fixed warm-up let the measured pass
 * run unoptimized code.
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
  /** A region of its own to fault in each warm-up round (JIT warm-up), each round ended by a `sync` ucall. */
  warmupGpa: number;
  warmupPages: number;
  /** Int32 words the VMM writes before re-entering after a `sync`: WARMUP_AGAIN. */
  control: SharedArrayBuffer;
}

/** Word of `control`: 1 = fault the (zapped) warm-up region again, 0 = go on to the measured pass. */
export const WARMUP_AGAIN = 0;
/** Pages per call of `pass`: the warm-up and the measured pass call it alike, so its feedback carries over. */
const CHUNK = 512;

/** Indexes of the values of a warm-up round's `sync` ucall. */
export const SYNC_WRONG_WORDS = 0;
export const SYNC_ROUND = 1;
/** Bytes the round's faults allocated in new space, per page (as GUEST_FAULT_BYTES − GUEST_PRESENT_BYTES). */
export const SYNC_BYTES_PER_PAGE = 2;

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

/** Pages [0, pages) of the region at `gpa`, CHUNK pages per call of `pass`. */
function passAll(ctx: GuestContext, gpa: number, t: Float64Array, shift: number, pages: number, wrong: Int32Array): void {
  for (let p = 0; p < pages; p += CHUNK) pass(ctx, gpa, t, shift, p, Math.min(pages, p + CHUNK), wrong);
}

/**
 * One passAll with what it allocated in new space and the scavenges during it, and when it started
 * and ended (performance.now(), around the pass and its two heap readings only).
 */
function metered(profiler: GCProfiler, ctx: GuestContext, gpa: number, t: Float64Array, shift: number, pages: number, wrong: Int32Array):
  { bytes: number; gcs: number; t0: number; t1: number } {
  profiler.start();
  const t0 = performance.now();
  const u0 = newSpaceUsed();
  passAll(ctx, gpa, t, shift, pages, wrong);
  const u1 = newSpaceUsed();
  const t1 = performance.now();
  const gcs = (profiler.stop()?.statistics ?? []) as unknown as GcEvent[];
  return { bytes: allocated(u0, u1, gcs), gcs: gcs.length, t0, t1 };
}

/** Runs the pass; returns the GUEST_* values. */
export function demandPagingGuest(ctx: GuestContext, raw: unknown): number[] {
  const a = raw as DemandPagingGuestArgs;
  const t = new Float64Array(a.timeline, a.offset * 8, 2 * a.pages);
  const again = new Float64Array(2 * a.pages);
  const shift = performance.timeOrigin - a.timeOrigin;
  const wrong = new Int32Array(2);
  const ignored = new Int32Array(2);
  const control = new Int32Array(a.control);
  const profiler = new GCProfiler();
  if (a.warmupPages > 0) {
    const scratch = new Float64Array(2 * a.warmupPages);
    let round = 0;
    do {
      const faulting = metered(profiler, ctx, a.warmupGpa, scratch, shift, a.warmupPages, wrong);
      const present = metered(profiler, ctx, a.warmupGpa, scratch, shift, a.warmupPages, ignored);
      ctx.ucall('sync', [wrong[0], round++, (faulting.bytes - present.bytes) / a.warmupPages]);
    } while (Atomics.load(control, WARMUP_AGAIN) === 1);
  }
  const fault = metered(profiler, ctx, a.gpa, t, shift, a.pages, wrong);
  const present = metered(profiler, ctx, a.gpa, again, shift, a.pages, ignored);
  return [
    wrong[0], wrong[0] ? a.gpa + wrong[1] * 4096 : -1, fault.bytes, present.bytes, fault.gcs + present.gcs, a.pages, fault.t0 + shift, fault.t1 + shift,
  ];
}
