/**
 * The interface both memslot designs implement. The writer side carries out the steps of
 * kvm_set_memslot; the reader side is what any thread uses under the SRCU read lock.
 */
import type { Memslot, MemslotImpl } from './memslot.js';

/** Writer side (holds slots_lock): the set operations of kvm_set_memslot. */
export interface MemslotStore {
  readonly kind: MemslotImpl;
  /** id_to_memslot(__kvm_memslots(kvm, as), id). */
  idToMemslot(asId: number, id: number): Memslot | undefined;
  /** kvm_check_memslot_overlap: does a slot other than `id` intersect gfns [start, end)? */
  overlaps(asId: number, id: number, start: number, end: number): boolean;
  /** The active slots of `asId`, ascending base gfn. */
  list(asId: number): Memslot[];
  /** kvm_invalidate_memslot: publish a KVM_MEMSLOT_INVALID copy of `old` (one swap); returns the copy. */
  invalidate(old: Memslot): Memslot;
  /** kvm_create_memslot (one swap). */
  create(created: Memslot): void;
  /** kvm_delete_memslot (the second swap of a DELETE). */
  delete(old: Memslot, invalid: Memslot): void;
  /** kvm_move_memslot (the second swap of a MOVE). */
  move(old: Memslot, moved: Memslot, invalid: Memslot): void;
  /** kvm_update_flags_memslot (one swap). */
  updateFlags(old: Memslot, updated: Memslot): void;
  /** kvm_activate_memslot(invalid, old): undo an invalidation when preparing the change failed. */
  restore(invalid: Memslot, old: Memslot): void;
  /** This thread's read side. */
  reader(): MemslotReader;
  /** The SharedArrayBuffers other threads need to read the sets. */
  handle(): MemslotStoreHandle;
  /** Bytes of shared memory the sets occupy now. */
  bytes(): number;
}

/** The buffers of a store, structured-cloneable. */
export interface MemslotStoreHandle {
  kind: MemslotImpl;
  buffers: SharedArrayBuffer[];
}

/**
 * Read side of the active sets, usable from any thread that holds the SRCU read lock. Slots are
 * named by a `ref` (a number) valid until the read lock is dropped; -1 is "no slot".
 */
export interface MemslotReader {
  /** ____gfn_to_memslot: the set's last-used slot, then a search; updates the last-used slot. */
  gfnToSlot(asId: number, gfn: number): number;
  /** Slots in the active set of `asId`. */
  count(asId: number): number;
  /** search_memslots: no cache (the per-vCPU variant keeps its own). */
  searchGfn(asId: number, gfn: number): number;
  /** Calls `fn(ref)` for every slot of `asId` whose hva range meets [start, last] (inclusive). */
  forEachInHvaRange(asId: number, start: number, last: number, fn: (ref: number) => void): void;
  /** Fields of a slot. */
  id(ref: number): number;
  baseGfn(ref: number): number;
  npages(ref: number): number;
  userspaceAddr(ref: number): number;
  flags(ref: number): number;
  dirtyBitmap(ref: number): number;
}
