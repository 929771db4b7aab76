/** The memslot as the writer (kvm_set_memory_region) handles it, and as users see it. */
import { PAGE_SIZE } from '../uapi.js';

/** Which memslot design a VM uses: the scalable 5.17+ tree, or the pre-5.17 sorted array. */
export type MemslotImpl = 'tree' | 'array';

/** A memslot (struct kvm_memory_slot) as the writer side builds and passes it. */
export interface Memslot {
  id: number;
  asId: number;
  baseGfn: number;
  npages: number;
  userspaceAddr: number;
  /** User flags, plus KVM_MEMSLOT_INVALID while a DELETE or MOVE is in flight. */
  flags: number;
  /** Word offset of the dirty bitmap in the VM's dirty arena, or -1 (NULL). */
  dirtyBitmap: number;
  /** The store's handle for this slot (tree: record index); -1 until the store places it. */
  ref: number;
}

/** A read-only snapshot of a memslot, as the uAPI-level lookups return it. */
export interface MemslotInfo {
  id: number;
  asId: number;
  baseGfn: number;
  npages: number;
  userspaceAddr: number;
  flags: number;
}

/** The public snapshot of a writer-side memslot. */
export function memslotInfo(s: Memslot): MemslotInfo {
  return { id: s.id, asId: s.asId, baseGfn: s.baseGfn, npages: s.npages, userspaceAddr: s.userspaceAddr, flags: s.flags };
}

/** The inclusive last hva of a slot's host range (the interval-tree `last`). */
export function slotHvaLast(userspaceAddr: number, npages: number): number {
  return userspaceAddr + npages * PAGE_SIZE - 1;
}

/** Bytes of one copy of a dirty bitmap: ALIGN(npages, BITS_PER_LONG) / 8. */
export function dirtyBitmapBytes(npages: number): number {
  return Math.ceil(npages / 64) * 8;
}
