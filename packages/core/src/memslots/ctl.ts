/**
 * The memslot control block: per address space the active set (kvm->memslots[as]), per set its
 * generation, and the MMU-notifier counters that a swap must respect. Layout: docs/memslots.md.
 */
import { KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS } from '../uapi.js';
import type { Srcu } from '../srcu.js';

const ACTIVE = 0; // +as: swaps published so far; bit 0 is the index (0/1) of the active set
const MN_ACTIVE_INVALIDATE = 2; // mn_active_invalidate_count, -1 while a swap publishes
const MMU_INVALIDATE_IN_PROGRESS = 3;
const MMU_INVALIDATE_SEQ = 4;
const GEN_BYTE_OFFSET = 32; // BigInt64 generations: (as * 2 + set)
/** Bytes of the control block for two address spaces. */
export const MEMSLOTS_CTL_BYTES = GEN_BYTE_OFFSET + 4 * 8;

/** Active-set selection, generations and the swap (kvm_swap_active_memslots). Any thread may read. */
export class MemslotsCtl {
  private readonly i32: Int32Array;
  private readonly gen: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer, readonly nrAddressSpaces: number) {
    this.i32 = new Int32Array(buffer, 0, GEN_BYTE_OFFSET / 4);
    this.gen = new BigInt64Array(buffer, GEN_BYTE_OFFSET, 4);
  }

  /** A fresh block: set j of address space i starts with generation i (kvm_create_vm). */
  static create(nrAddressSpaces: number): MemslotsCtl {
    const ctl = new MemslotsCtl(new SharedArrayBuffer(MEMSLOTS_CTL_BYTES), nrAddressSpaces);
    for (let as = 0; as < nrAddressSpaces; as++) {
      ctl.setGeneration(as, 0, BigInt(as));
      ctl.setGeneration(as, 1, BigInt(as));
    }
    return ctl;
  }

  /** Index of the active set of `as` (srcu_dereference(kvm->memslots[as])). */
  active(as: number): number {
    return Atomics.load(this.i32, ACTIVE + as) & 1;
  }

  /**
   * Swaps published in `as` so far: names the active memslots instance, so a cache that remembers
   * it knows whether the set changed (what comparing kvm_memslots.generation tells the kernel).
   */
  activeSeq(as: number): number {
    return Atomics.load(this.i32, ACTIVE + as);
  }

  /** kvm_memslots.generation of set `set` of `as`, as the u64 the kernel stores. */
  generation(as: number, set: number): bigint {
    return BigInt.asUintN(64, Atomics.load(this.gen, as * 2 + set));
  }

  /** The generation of the active set of `as`. */
  activeGeneration(as: number): bigint {
    return this.generation(as, this.active(as));
  }

  private setGeneration(as: number, set: number, g: bigint): void {
    Atomics.store(this.gen, as * 2 + set, BigInt.asIntN(64, g));
  }

  /**
   * kvm_swap_active_memslots: mark the inactive set's generation in-progress, wait out MMU-notifier
   * invalidations, publish it, wait for SRCU readers of the old set, then give it its final generation.
   */
  swap(as: number, srcu: Srcu): void {
    const inactive = this.active(as) ^ 1;
    const gen = this.activeGeneration(as);
    this.setGeneration(as, inactive, gen | KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
    // An invalidation must see one memslot set from its start to its end: publish only at count 0.
    for (;;) {
      const c = Atomics.compareExchange(this.i32, MN_ACTIVE_INVALIDATE, 0, -1);
      if (c === 0) break;
      Atomics.wait(this.i32, MN_ACTIVE_INVALIDATE, c, 1);
    }
    Atomics.add(this.i32, ACTIVE + as, 1); // publish: bit 0 becomes `inactive`
    Atomics.store(this.i32, MN_ACTIVE_INVALIDATE, 0);
    Atomics.notify(this.i32, MN_ACTIVE_INVALIDATE);
    srcu.synchronize();
    // "Address space 0 will use generations 0, 2, 4, ..."
    this.setGeneration(as, inactive, (gen & ~KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS) + BigInt(this.nrAddressSpaces));
  }

  /** kvm_mmu_notifier_invalidate_range_start: holds off swaps until the matching end. */
  mnInvalidateBegin(): void {
    for (;;) {
      const c = Atomics.load(this.i32, MN_ACTIVE_INVALIDATE);
      if (c >= 0 && Atomics.compareExchange(this.i32, MN_ACTIVE_INVALIDATE, c, c + 1) === c) return;
      if (c < 0) Atomics.wait(this.i32, MN_ACTIVE_INVALIDATE, c, 1);
    }
  }

  /** kvm_mmu_notifier_invalidate_range_end. */
  mnInvalidateEnd(): void {
    if (Atomics.sub(this.i32, MN_ACTIVE_INVALIDATE, 1) === 1) Atomics.notify(this.i32, MN_ACTIVE_INVALIDATE);
  }

  /** kvm_mmu_invalidate_begin: a range that maps memslots is being invalidated. */
  mmuInvalidateBegin(): void {
    Atomics.add(this.i32, MMU_INVALIDATE_IN_PROGRESS, 1);
  }

  /** kvm_mmu_invalidate_end: bumps mmu_invalidate_seq so racing page faults retry. */
  mmuInvalidateEnd(): void {
    Atomics.add(this.i32, MMU_INVALIDATE_SEQ, 1);
    Atomics.sub(this.i32, MMU_INVALIDATE_IN_PROGRESS, 1);
  }

  /** kvm->mmu_invalidate_seq. */
  mmuInvalidateSeq(): number {
    return Atomics.load(this.i32, MMU_INVALIDATE_SEQ);
  }

  /** kvm->mmu_invalidate_in_progress. */
  mmuInvalidateInProgress(): number {
    return Atomics.load(this.i32, MMU_INVALIDATE_IN_PROGRESS);
  }
}
