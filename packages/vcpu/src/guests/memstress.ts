/**
 * The `memstress` guest, after tools/testing/selftests/kvm/lib/memstress.c: each round touches the
 * first 8 bytes of every page of its region (a write, or a read with `write: false`), then syncs.
 * `stride` below 4096 touches more of each page: the hit-path benchmark uses it.
 */
import type { GuestContext } from '../guest.js';

/** Arguments of the memstress guest. */
export interface MemstressArgs {
  gpa: number;
  pages: number;
  /** Rounds over the region; each ends with a `sync` ucall [round, accesses] (default 1). */
  rounds?: number;
  /** Bytes between two accesses (default 4096: one per page). */
  stride?: number;
  write?: boolean;
  /** Passes over the region per round (default 1). */
  passes?: number;
}

/** Runs the rounds; returns [accesses] for `done`. */
export function memstressGuest(ctx: GuestContext, args: unknown): number[] {
  const { gpa, pages, rounds = 1, stride = 4096, write = true, passes = 1 } = args as MemstressArgs;
  if (!Number.isSafeInteger(gpa) || !Number.isInteger(pages) || pages < 1) throw new TypeError('memstress needs args { gpa, pages }');
  if (!Number.isInteger(stride) || stride < 8 || stride % 8 !== 0) throw new TypeError('memstress: stride must be a multiple of 8');
  const end = gpa + pages * 4096;
  let accesses = 0;
  for (let r = 0; r < rounds; r++) {
    const val = BigInt(ctx.vcpuId + 1) << 32n | BigInt(r);
    for (let p = 0; p < passes; p++) {
      if (write) {
        for (let a = gpa; a < end; a += stride) ctx.write64(a, val);
      } else {
        let sum = 0;
        for (let a = gpa; a < end; a += stride) sum += ctx.read32(a);
        if (sum < 0) ctx.ucall('assert', [sum]);
      }
    }
    accesses += passes * ((end - gpa) / stride);
    if (r < rounds - 1) ctx.ucall('sync', [r, accesses]);
  }
  return [accesses];
}
