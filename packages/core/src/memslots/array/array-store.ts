/**
 * The pre-5.17 memslot design that seed 004 replaced: per address space one gfn-sorted array
 * (highest gfn first) with a static id_to_index table, duplicated whole for every change and
 * published with install_new_memslots. Two buffers per address space play the roles of the
 * published array and the kvzalloc'ed copy. Function names follow v5.16 virt/kvm/kvm_main.c.
 */
import { KvmError } from '../../errors.js';
import { GrowableArena } from '../../sync/growable.js';
import type { Srcu } from '../../srcu.js';
import { KVM_MEM_SLOTS_NUM, KVM_MEMSLOT_INVALID } from '../../uapi.js';
import type { MemslotsCtl } from '../ctl.js';
import type { Memslot } from '../memslot.js';
import type { MemslotReader, MemslotStore, MemslotStoreHandle } from '../store.js';
import { ArrayReader } from './array-reader.js';
import {
  A_LRU, A_USED, ID_TO_INDEX_OFF, MEMSLOTS_OFF, memslotsSize, S_AS, S_BASE_GFN, S_DIRTY, S_FLAGS, S_ID, S_NPAGES, S_UADDR,
  SLOT_BYTES, slotF64, slotI32,
} from './layout.js';

type Change = 'create' | 'delete' | 'move' | 'flags';

/** One kvm_memslots array: its arena and an Int16 view of id_to_index. */
class SlotArray {
  private readonly idx: Int16Array;
  constructor(readonly arena: GrowableArena) {
    this.idx = new Int16Array(arena.buffer, ID_TO_INDEX_OFF, KVM_MEM_SLOTS_NUM);
  }
  get i32(): Int32Array { return this.arena.i32; }
  get f64(): Float64Array { return this.arena.f64; }
  get used(): number { return this.arena.i32[A_USED]; }
  set used(n: number) { this.arena.i32[A_USED] = n; }
  idToIndex(id: number): number {
    return this.idx[id];
  }
  setIdToIndex(id: number, index: number): void {
    this.idx[id] = index;
  }
  baseGfn(i: number): number { return this.f64[slotF64(i, S_BASE_GFN)]; }
  read(i: number): Memslot {
    const i32 = this.i32;
    return {
      id: i32[slotI32(i, S_ID)], asId: i32[slotI32(i, S_AS)], baseGfn: this.baseGfn(i), npages: i32[slotI32(i, S_NPAGES)],
      userspaceAddr: this.f64[slotF64(i, S_UADDR)], flags: i32[slotI32(i, S_FLAGS)], dirtyBitmap: i32[slotI32(i, S_DIRTY)], ref: -1,
    };
  }
  write(i: number, s: Memslot): void {
    const i32 = this.i32;
    this.f64[slotF64(i, S_BASE_GFN)] = s.baseGfn;
    this.f64[slotF64(i, S_UADDR)] = s.userspaceAddr;
    i32[slotI32(i, S_NPAGES)] = s.npages;
    i32[slotI32(i, S_FLAGS)] = s.flags;
    i32[slotI32(i, S_ID)] = s.id;
    i32[slotI32(i, S_AS)] = s.asId;
    i32[slotI32(i, S_DIRTY)] = s.dirtyBitmap;
  }
  /** mslots[dst] = mslots[src] */
  copySlot(dst: number, src: number): void {
    const s = memslotsSize(src);
    this.arena.u8.copyWithin(memslotsSize(dst), s, s + SLOT_BYTES);
  }
}

/** The writer side of the array memslots of one VM. */
export class ArrayMemslotStore implements MemslotStore {
  readonly kind = 'array' as const;
  private readonly arrays: SlotArray[] = []; // [as * 2 + set]
  /** The inactive array of an AS already holds the published contents (after an invalidation). */
  private readonly scratchReady: boolean[] = [];

  constructor(private readonly ctl: MemslotsCtl, private readonly srcu: Srcu) {
    const max = memslotsSize(KVM_MEM_SLOTS_NUM);
    for (let i = 0; i < ctl.nrAddressSpaces * 2; i++) {
      const arena = GrowableArena.create(memslotsSize(0), Math.ceil(max / 8) * 8);
      new Int16Array(arena.buffer, ID_TO_INDEX_OFF, KVM_MEM_SLOTS_NUM).fill(-1);
      arena.i32[A_LRU] = 0;
      this.arrays.push(new SlotArray(arena));
      this.scratchReady.push(false);
    }
  }

  idToMemslot(asId: number, id: number): Memslot | undefined {
    const a = this.active(asId);
    const i = a.idToIndex(id);
    return i < 0 ? undefined : a.read(i);
  }

  overlaps(asId: number, id: number, start: number, end: number): boolean {
    // The v5.16 overlap check: kvm_for_each_memslot over the whole array.
    const a = this.active(asId);
    const i32 = a.i32;
    const f64 = a.f64;
    for (let i = 0, n = a.used; i < n; i++) {
      if (i32[slotI32(i, S_ID)] === id) continue;
      const base = f64[slotF64(i, S_BASE_GFN)];
      if (!(end <= base || start >= base + i32[slotI32(i, S_NPAGES)])) return true;
    }
    return false;
  }

  list(asId: number): Memslot[] {
    const a = this.active(asId);
    const out: Memslot[] = [];
    for (let i = a.used - 1; i >= 0; i--) out.push(a.read(i));
    return out;
  }

  invalidate(old: Memslot): Memslot {
    const as = old.asId;
    const slots = this.dupMemslots(as, 'move');
    const i = slots.idToIndex(old.id);
    slots.i32[slotI32(i, S_FLAGS)] |= KVM_MEMSLOT_INVALID;
    this.installNewMemslots(as);
    // kvm_copy_memslots(slots, __kvm_memslots(kvm, as_id)): the now-unpublished array becomes the copy.
    this.copyInto(this.inactive(as), this.active(as));
    this.scratchReady[as] = true;
    return { ...old, flags: old.flags | KVM_MEMSLOT_INVALID };
  }

  create(created: Memslot): void {
    this.apply(created, 'create');
  }

  delete(old: Memslot, _invalid: Memslot): void {
    this.apply(old, 'delete');
  }

  move(_old: Memslot, moved: Memslot, _invalid: Memslot): void {
    this.apply(moved, 'move');
  }

  updateFlags(_old: Memslot, updated: Memslot): void {
    this.apply(updated, 'flags');
  }

  restore(invalid: Memslot, _old: Memslot): void {
    const slots = this.inactive(invalid.asId);
    this.scratchReady[invalid.asId] = false;
    slots.i32[slotI32(slots.idToIndex(invalid.id), S_FLAGS)] &= ~KVM_MEMSLOT_INVALID;
    this.installNewMemslots(invalid.asId);
  }

  reader(): MemslotReader {
    return new ArrayReader(this.ctl, this.arrays.map((a) => a.arena));
  }

  handle(): MemslotStoreHandle {
    return { kind: 'array', buffers: this.arrays.map((a) => a.arena.buffer) };
  }

  bytes(): number {
    return this.arrays.reduce((n, a) => n + a.arena.byteLength, 0);
  }

  /** The tail of v5.16 kvm_set_memslot: update_memslots on the copy, then install it. */
  private apply(s: Memslot, change: Change): void {
    const as = s.asId;
    const slots = this.scratchReady[as] ? this.inactive(as) : this.dupMemslots(as, change);
    this.scratchReady[as] = false;
    this.updateMemslots(slots, s, change);
    this.installNewMemslots(as);
  }

  /** kvm_dup_memslots: a copy of the published array, with room for one more slot on CREATE. */
  private dupMemslots(as: number, change: Change): SlotArray {
    const src = this.active(as);
    const dst = this.inactive(as);
    const need = memslotsSize(src.used + (change === 'create' ? 1 : 0));
    if (!dst.arena.ensure(Math.ceil(need / 8) * 8)) throw new KvmError('ENOMEM', 'memslot array exhausted');
    this.copyInto(dst, src);
    return dst;
  }

  private copyInto(dst: SlotArray, src: SlotArray): void {
    const size = memslotsSize(src.used);
    if (!dst.arena.ensure(Math.ceil(size / 8) * 8)) throw new KvmError('ENOMEM', 'memslot array exhausted');
    dst.arena.u8.set(src.arena.u8.subarray(MEMSLOTS_OFF, size), MEMSLOTS_OFF);
  }

  /** install_new_memslots: publish the copy; the generation arithmetic is shared with the tree. */
  private installNewMemslots(as: number): void {
    this.ctl.swap(as, this.srcu);
  }

  /** update_memslots: keep the array sorted by base gfn, highest first, and id_to_index in step. */
  private updateMemslots(slots: SlotArray, s: Memslot, change: Change): void {
    if (change === 'delete') {
      this.memslotDelete(slots, s);
      return;
    }
    let i = change === 'create' ? slots.used++ : this.memslotMoveBackward(slots, s);
    i = this.memslotMoveForward(slots, s, i);
    slots.write(i, { ...s, flags: s.flags & ~KVM_MEMSLOT_INVALID });
    slots.setIdToIndex(s.id, i);
  }

  /** kvm_memslot_delete. */
  private memslotDelete(slots: SlotArray, s: Memslot): void {
    const from = slots.idToIndex(s.id);
    slots.used--;
    if (slots.i32[A_LRU] >= slots.used) slots.i32[A_LRU] = 0;
    let i = from;
    for (; i < slots.used; i++) {
      slots.copySlot(i, i + 1);
      slots.setIdToIndex(slots.i32[slotI32(i, S_ID)], i);
    }
    slots.setIdToIndex(s.id, -1);
  }

  /** kvm_memslot_move_backward: shift the slots with a higher gfn than `s` towards the front. */
  private memslotMoveBackward(slots: SlotArray, s: Memslot): number {
    let i = slots.idToIndex(s.id);
    for (; i < slots.used - 1; i++) {
      if (s.baseGfn > slots.baseGfn(i + 1)) break;
      slots.copySlot(i, i + 1);
      slots.setIdToIndex(slots.i32[slotI32(i, S_ID)], i);
    }
    return i;
  }

  /** kvm_memslot_move_forward. */
  private memslotMoveForward(slots: SlotArray, s: Memslot, start: number): number {
    let i = start;
    for (; i > 0; i--) {
      if (s.baseGfn < slots.baseGfn(i - 1)) break;
      slots.copySlot(i, i - 1);
      slots.setIdToIndex(slots.i32[slotI32(i, S_ID)], i);
    }
    return i;
  }

  private active(as: number): SlotArray {
    const a = this.arrays[as * 2 + this.ctl.active(as)];
    a.arena.refresh();
    return a;
  }

  private inactive(as: number): SlotArray {
    const a = this.arrays[as * 2 + (this.ctl.active(as) ^ 1)];
    a.arena.refresh();
    return a;
  }
}
