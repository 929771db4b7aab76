/**
 * The VM side of the MMU: zapping sptes when memslots or host mappings change, write-protection for
 * dirty logging, each followed by a remote TLB flush that every vCPU acknowledges.
 */
import type { Memslot } from '../memslots/memslot.js';
import { KVM_MEM_LOG_DIRTY_PAGES } from '../uapi.js';
import { Tdp } from './tdp.js';
import { KVM_REQ_TLB_FLUSH, VcpuTable } from './vcpus.js';

/** Counters of MMU work, for tests and reports (kvm stats). */
export interface MmuStats {
  zapped: number;
  writeProtected: number;
  tlbFlushes: number;
}

/** KVM's MMU operations on a VM, usable from any thread. */
export class KvmMmu {
  readonly stats: MmuStats = { zapped: 0, writeProtected: 0, tlbFlushes: 0 };

  constructor(readonly tdp: Tdp, readonly vcpus: VcpuTable) {}

  /** kvm_flush_remote_tlbs. */
  flushRemoteTlbs(): void {
    this.stats.tlbFlushes++;
    this.vcpus.requestAll(KVM_REQ_TLB_FLUSH);
  }

  /** kvm_zap_gfn_range + flush: returns sptes zapped. */
  zapGfnRange(start: number, end: number): number {
    const n = this.tdp.zapRange(start, end);
    this.stats.zapped += n;
    if (n > 0) this.flushRemoteTlbs();
    return n;
  }

  /** kvm_arch_flush_shadow_memslot: drop every mapping of a slot being deleted or moved. */
  flushShadowMemslot(slot: Memslot): void {
    if (slot.asId !== 0) return; // the TDP table maps address space 0 only
    this.zapGfnRange(slot.baseGfn, slot.baseGfn + slot.npages);
  }

  /**
   * kvm_mmu_slot_apply_flags on commit: turning dirty logging on write-protects the slot so the
   * next write to each page faults and is logged (unless the bitmap starts all ones).
   */
  slotApplyFlags(old: Memslot | null, fresh: Memslot | null, initiallySet: boolean): void {
    if (!old || !fresh || fresh.asId !== 0) return;
    const enabling = !(old.flags & KVM_MEM_LOG_DIRTY_PAGES) && fresh.flags & KVM_MEM_LOG_DIRTY_PAGES;
    if (enabling && !initiallySet) this.writeProtect(fresh.baseGfn, fresh.baseGfn + fresh.npages);
  }

  /** kvm_arch_mmu_enable_log_dirty_pt_masked: write-protect the pages of [start, end) for which `pick` holds. */
  writeProtect(start: number, end: number, pick?: (gfn: number) => boolean): void {
    const n = this.tdp.writeProtectRange(start, end, pick);
    this.stats.writeProtected += n;
    if (n > 0) this.flushRemoteTlbs();
  }
}
