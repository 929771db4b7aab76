/**
 * Dirty bitmaps of all slots of a VM in one growable SharedArrayBuffer, so that vCPU workers set
 * bits with Atomics.or. A slot's bitmap is two copies of ALIGN(npages, 64) / 8 bytes (the second is
 * the scratch copy KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG use). Only the writer allocates.
 */
import { ARENA_HEADER_WORDS, GrowableArena } from '../sync/growable.js';
import { dirtyBitmapBytes } from '../memslots/memslot.js';

/** Largest arena: just under 4 GiB, V8's limit for a growable SharedArrayBuffer. */
const MAX_BYTES = 2 ** 32 - 64;

/** First-fit allocator of dirty bitmaps; offsets and sizes in Int32 words. */
export class DirtyArena {
  readonly arena: GrowableArena;
  private top = ARENA_HEADER_WORDS;
  private free: Array<[number, number]> = [];

  constructor(buffer?: SharedArrayBuffer) {
    this.arena = buffer ? new GrowableArena(buffer) : GrowableArena.create(0, MAX_BYTES);
  }

  /** Words of one copy of the bitmap of an `npages` slot. */
  static words(npages: number): number {
    return dirtyBitmapBytes(npages) / 4;
  }

  /** Allocates both copies of a bitmap, zeroed (or all ones over `npages` bits); -1 if out of memory. */
  alloc(npages: number, allOnes: boolean): number {
    const words = 2 * DirtyArena.words(npages);
    let off = -1;
    const i = this.free.findIndex(([, size]) => size >= words);
    if (i >= 0) {
      const [o, size] = this.free[i];
      off = o;
      if (size === words) this.free.splice(i, 1);
      else this.free[i] = [o + words, size - words];
    } else {
      if (!this.arena.ensure((this.top + words) * 4)) return -1;
      off = this.top;
      this.top += words;
    }
    const i32 = this.arena.i32;
    i32.fill(0, off, off + words);
    if (allOnes) setBits(i32, off, npages);
    return off;
  }

  /** Frees a bitmap of an `npages` slot (after the swap that unpublished it). */
  release(off: number, npages: number): void {
    this.free.push([off, 2 * DirtyArena.words(npages)]);
    this.free.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const r of this.free) {
      const last = merged[merged.length - 1];
      if (last && last[0] + last[1] === r[0]) last[1] += r[1];
      else merged.push([r[0], r[1]]);
    }
    const tail = merged[merged.length - 1];
    if (tail && tail[0] + tail[1] === this.top) {
      this.top = tail[0];
      merged.pop();
    }
    this.free = merged;
  }

  /** Bytes committed to the arena. */
  bytes(): number {
    return this.arena.byteLength;
  }
}

/** bitmap_set(map, 0, n) on the words starting at `off`. */
export function setBits(i32: Int32Array, off: number, n: number): void {
  const full = n >>> 5;
  i32.fill(-1, off, off + full);
  const rest = n & 31;
  if (rest) i32[off + full] = (1 << rest) - 1;
}

/** set_bit_le(rel_gfn, bitmap): atomically marks page `rel` dirty. */
export function markDirty(i32: Int32Array, off: number, rel: number): void {
  Atomics.or(i32, off + (rel >>> 5), 1 << (rel & 31));
}
