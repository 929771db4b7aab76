/**
 * Layout of one pre-5.17 `struct kvm_memslots` in a growable SharedArrayBuffer (docs/memslots.md):
 * header, the static id_to_index[KVM_MEM_SLOTS_NUM] array, then the slots sorted by base gfn,
 * highest first. Copied whole on every change, as kvm_dup_memslots did.
 */
import { ARENA_HEADER_BYTES, ARENA_HEADER_WORDS } from '../../sync/growable.js';
import { KVM_MEM_SLOTS_NUM } from '../../uapi.js';

/** First byte of struct kvm_memslots in its arena (after the arena header). */
export const MEMSLOTS_OFF = ARENA_HEADER_BYTES;
/** Header words: used slots, last-used (lru) index. */
export const A_USED = ARENA_HEADER_WORDS;
export const A_LRU = ARENA_HEADER_WORDS + 1;
/** Byte offset of id_to_index (Int16). */
export const ID_TO_INDEX_OFF = MEMSLOTS_OFF + 16;
/** Byte offset of slot 0 (8-byte aligned). */
export const SLOTS_OFF = Math.ceil((ID_TO_INDEX_OFF + KVM_MEM_SLOTS_NUM * 2) / 8) * 8;
/** Bytes of one slot in the array. */
export const SLOT_BYTES = 40;
/** Slot fields: f64 base gfn and userspace address, then Int32 words. */
export const S_BASE_GFN = 0; // f64 index within the slot
export const S_UADDR = 1; // f64 index
export const S_NPAGES = 4; // i32 index within the slot
export const S_FLAGS = 5;
export const S_ID = 6;
export const S_AS = 7;
export const S_DIRTY = 8;

/** Arena bytes up to the end of a struct kvm_memslots with n slots (kvm_memslots_size + the arena header). */
export function memslotsSize(n: number): number {
  return SLOTS_OFF + n * SLOT_BYTES;
}

/** Int32 index of field `f` of slot `i`. */
export function slotI32(i: number, f: number): number {
  return (SLOTS_OFF + i * SLOT_BYTES) / 4 + f;
}

/** Float64 index of field `f` of slot `i`. */
export function slotF64(i: number, f: number): number {
  return (SLOTS_OFF + i * SLOT_BYTES) / 8 + f;
}

/** A reader's slot ref: which of the VM's arrays (as * 2 + set) and the index in it. */
export function arrayRef(buf: number, index: number): number {
  return buf * 65536 + index;
}
