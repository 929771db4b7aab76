/** The read side of the scalable memslots: lock-free lookups on the active set under SRCU. */
import type { GrowableArena } from '../../sync/growable.js';
import type { MemslotsCtl } from '../ctl.js';
import type { MemslotReader } from '../store.js';
import {
  gfnNode, H_GFN_ROOT, H_HVA_ROOT, H_LAST_USED, H_NR, headerBase, hvaMax, hvaNode, R_BASE_GFN, R_DIRTY, R_FLAGS, R_ID,
  R_NPAGES, R_UADDR, rw,
} from './layout.js';
import { NIL } from './rbtree.js';

/** One thread's reader of the tree memslots. Allocation-free. */
export class TreeReader implements MemslotReader {
  private readonly stack = new Int32Array(128);

  constructor(private readonly ctl: MemslotsCtl, private readonly header: Int32Array, private readonly records: GrowableArena) {}

  gfnToSlot(asId: number, gfn: number): number {
    const set = this.ctl.active(asId);
    this.records.refresh();
    const lastUsedWord = headerBase(asId, set) + H_LAST_USED;
    const last = Atomics.load(this.header, lastUsedWord);
    if (last !== NIL && this.contains(last, gfn)) return last;
    const slot = this.search(asId, set, gfn);
    if (slot !== NIL) Atomics.store(this.header, lastUsedWord, slot);
    return slot;
  }

  count(asId: number): number {
    return Atomics.load(this.header, headerBase(asId, this.ctl.active(asId)) + H_NR);
  }

  searchGfn(asId: number, gfn: number): number {
    const set = this.ctl.active(asId);
    this.records.refresh();
    return this.search(asId, set, gfn);
  }

  forEachInHvaRange(asId: number, start: number, last: number, fn: (ref: number) => void): void {
    const set = this.ctl.active(asId);
    this.records.refresh();
    const i32 = this.records.i32;
    const f64 = this.records.f64;
    const node = hvaNode(set);
    const max = hvaMax(set);
    const stack = this.stack;
    let sp = 0;
    let n = Atomics.load(this.header, headerBase(asId, set) + H_HVA_ROOT);
    // In-order walk of the nodes whose interval can meet [start, last]: skip subtrees whose max
    // `last` is below start, and stop once a node starts after `last`.
    while (n !== NIL || sp > 0) {
      while (n !== NIL && f64[rw(n, max) >> 1] >= start) {
        stack[sp++] = n;
        n = i32[rw(n, node)];
      }
      if (sp === 0) break;
      n = stack[--sp];
      const s = f64[rw(n, R_UADDR) >> 1];
      if (s > last) break;
      if (s + i32[rw(n, R_NPAGES)] * 4096 - 1 >= start) fn(n);
      n = i32[rw(n, node + 1)];
    }
  }

  id(ref: number): number { return this.records.i32[rw(ref, R_ID)]; }
  baseGfn(ref: number): number { return this.records.f64[rw(ref, R_BASE_GFN) >> 1]; }
  npages(ref: number): number { return this.records.i32[rw(ref, R_NPAGES)]; }
  userspaceAddr(ref: number): number { return this.records.f64[rw(ref, R_UADDR) >> 1]; }
  flags(ref: number): number { return this.records.i32[rw(ref, R_FLAGS)]; }
  dirtyBitmap(ref: number): number { return this.records.i32[rw(ref, R_DIRTY)]; }

  private contains(ref: number, gfn: number): boolean {
    const b = rw(ref, 0);
    const base = this.records.f64[(b + R_BASE_GFN) >> 1];
    return gfn >= base && gfn < base + this.records.i32[b + R_NPAGES];
  }

  /** search_memslots: one cache line per level (see layout.ts). */
  private search(asId: number, set: number, gfn: number): number {
    const i32 = this.records.i32;
    const f64 = this.records.f64;
    const left = gfnNode(set);
    let n = Atomics.load(this.header, headerBase(asId, set) + H_GFN_ROOT);
    while (n !== NIL) {
      const b = rw(n, 0);
      const base = f64[(b + R_BASE_GFN) >> 1];
      if (gfn >= base) {
        if (gfn < base + i32[b + R_NPAGES]) return n;
        n = i32[b + left + 1];
      } else {
        n = i32[b + left];
      }
    }
    return NIL;
  }
}
