/** The read side of the array memslots: binary search by gfn, linear scan by hva. */
import type { GrowableArena } from '../../sync/growable.js';
import type { MemslotsCtl } from '../ctl.js';
import type { MemslotReader } from '../store.js';
import { A_LRU, A_USED, arrayRef, S_BASE_GFN, S_DIRTY, S_FLAGS, S_ID, S_NPAGES, S_UADDR, slotF64, slotI32 } from './layout.js';

/** One thread's reader of the array memslots. Allocation-free. */
export class ArrayReader implements MemslotReader {
  constructor(private readonly ctl: MemslotsCtl, private readonly arenas: GrowableArena[]) {}

  gfnToSlot(asId: number, gfn: number): number {
    const buf = asId * 2 + this.ctl.active(asId);
    const a = this.arenas[buf];
    a.refresh();
    const i32 = a.i32;
    const f64 = a.f64;
    const used = Atomics.load(i32, A_USED);
    if (used === 0) return -1;
    // search_memslots (v5.16): the lru slot, then a binary search of the descending array.
    const slot = Atomics.load(i32, A_LRU);
    const lb = f64[slotF64(slot, S_BASE_GFN)];
    if (gfn >= lb && gfn < lb + i32[slotI32(slot, S_NPAGES)]) return arrayRef(buf, slot);
    const start = this.bsearch(f64, used, gfn);
    if (start < used) {
      const b = f64[slotF64(start, S_BASE_GFN)];
      if (gfn >= b && gfn < b + i32[slotI32(start, S_NPAGES)]) {
        Atomics.store(i32, A_LRU, start);
        return arrayRef(buf, start);
      }
    }
    return -1;
  }

  count(asId: number): number {
    const a = this.arenas[asId * 2 + this.ctl.active(asId)];
    a.refresh();
    return Atomics.load(a.i32, A_USED);
  }

  searchGfn(asId: number, gfn: number): number {
    const buf = asId * 2 + this.ctl.active(asId);
    const a = this.arenas[buf];
    a.refresh();
    const used = Atomics.load(a.i32, A_USED);
    const start = this.bsearch(a.f64, used, gfn);
    if (start < used) {
      const b = a.f64[slotF64(start, S_BASE_GFN)];
      if (gfn >= b && gfn < b + a.i32[slotI32(start, S_NPAGES)]) return arrayRef(buf, start);
    }
    return -1;
  }

  forEachInHvaRange(asId: number, start: number, last: number, fn: (ref: number) => void): void {
    // kvm_for_each_memslot: every slot is checked, there is no hva index.
    const buf = asId * 2 + this.ctl.active(asId);
    const a = this.arenas[buf];
    a.refresh();
    const i32 = a.i32;
    const f64 = a.f64;
    for (let i = 0, n = Atomics.load(i32, A_USED); i < n; i++) {
      const s = f64[slotF64(i, S_UADDR)];
      if (s <= last && s + i32[slotI32(i, S_NPAGES)] * 4096 - 1 >= start) fn(arrayRef(buf, i));
    }
  }

  id(ref: number): number { return this.i32(ref, S_ID); }
  baseGfn(ref: number): number { return this.f64(ref, S_BASE_GFN); }
  npages(ref: number): number { return this.i32(ref, S_NPAGES); }
  userspaceAddr(ref: number): number { return this.f64(ref, S_UADDR); }
  flags(ref: number): number { return this.i32(ref, S_FLAGS); }
  dirtyBitmap(ref: number): number { return this.i32(ref, S_DIRTY); }

  private bsearch(f64: Float64Array, used: number, gfn: number): number {
    let start = 0;
    let end = used;
    while (start < end) {
      const slot = start + ((end - start) >> 1);
      if (gfn >= f64[slotF64(slot, S_BASE_GFN)]) end = slot;
      else start = slot + 1;
    }
    return start;
  }

  private i32(ref: number, f: number): number {
    return this.arenas[Math.floor(ref / 65536)].i32[slotI32(ref % 65536, f)];
  }

  private f64(ref: number, f: number): number {
    return this.arenas[Math.floor(ref / 65536)].f64[slotF64(ref % 65536, f)];
  }
}
