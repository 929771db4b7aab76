/**
 * The guests of tools/testing/selftests/kvm/memslot_perf_test.c. The selftest syncs host and guest
 * through atomics in a shared page; here each sync is a `sync` ucall, so the host's madvise runs
 * while the guest waits (the selftest overlaps them).
 */
import type { GuestContext } from '../guest.js';

/** Arguments of the memslot-perf guest. */
export interface MemslotPerfArgs {
  /**
   * 'map': write one u64 per page of each half in turn, syncing after each;
   * 'unmap': touch one page of each half in turn, syncing after each;
   * 'move': write one u64 per page of the area forever, never syncing (MMIO exits are expected
   * while the moved slot is away);
   * 'rw': write VAL_1 at the start of every page, sync, check that the host wrote VAL_2 at every
   * half page and zero it, sync.
   */
  test: 'map' | 'unmap' | 'move' | 'rw';
  gpa: number;
  size: number;
}

const VAL_1 = 0x1122334455667788n;
const VAL_2 = 0x99aabbccddeeff00n;

/** Loops until the vCPU is destroyed. */
export function memslotPerfGuest(ctx: GuestContext, args: unknown): void {
  const { test, gpa, size } = args as MemslotPerfArgs;
  if (!['map', 'unmap', 'move', 'rw'].includes(test) || !Number.isSafeInteger(gpa) || !Number.isSafeInteger(size)) {
    throw new TypeError("memslot-perf needs args { test: 'map' | 'unmap' | 'move' | 'rw', gpa, size }");
  }
  const half = size / 2;
  for (;;) {
    if (test === 'map') {
      for (let p = gpa; p < gpa + half; p += 4096) ctx.write64(p, VAL_1);
      ctx.ucall('sync');
      for (let p = gpa + half; p < gpa + size; p += 4096) ctx.write64(p, VAL_2);
      ctx.ucall('sync');
    } else if (test === 'unmap') {
      ctx.write64(gpa, VAL_1);
      ctx.ucall('sync');
      ctx.write64(gpa + half, VAL_2);
      ctx.ucall('sync');
    } else if (test === 'move') {
      for (let p = gpa; p < gpa + size; p += 4096) ctx.write64(p, VAL_1);
    } else {
      for (let p = gpa; p < gpa + size; p += 4096) ctx.write64(p, VAL_1);
      ctx.ucall('sync');
      for (let p = gpa + 2048; p < gpa + size; p += 4096) {
        const v = ctx.read64(p);
        if (v !== VAL_2) ctx.ucall('assert', [p, v]);
        ctx.write64(p, 0n);
      }
      ctx.ucall('sync');
    }
  }
}
