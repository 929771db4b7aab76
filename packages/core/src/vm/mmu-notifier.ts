/**
 * KVM's MMU notifier (kvm_mmu_notifier_invalidate_range_start/end): a host invalidation finds the
 * memslots it touches through the hva lookup of the sets and brackets the gfn ranges with
 * mmu_invalidate_in_progress / mmu_invalidate_seq, so that page faults racing with it retry.
 */
import type { MmuNotifier } from '../host/mmu-notifier.js';
import { PAGE_SIZE } from '../uapi.js';
import type { VmShared } from './shared.js';

/** A gfn range of one memslot that an invalidation covers (struct kvm_gfn_range). */
export interface GfnRange {
  asId: number;
  slot: number;
  start: number;
  end: number;
}

/** What the notifier does with the gfn ranges it finds; the MMU zaps them. */
export type GfnRangeHandler = (range: GfnRange) => void;

/** The notifier a VM registers on its host memory. */
export class KvmMmuNotifier implements MmuNotifier {
  /** Memslots the invalidation in flight touched: its end must close what its start opened. */
  private found = 0;

  /** Where the gfn ranges found go (the MMU's kvm_unmap_gfn_range). */
  onUnmap: GfnRangeHandler | undefined;

  constructor(private readonly vm: VmShared) {}

  invalidateRangeStart(start: number, end: number): void {
    this.vm.ctl.mnInvalidateBegin();
    this.found = this.handleHvaRange(start, end);
  }

  invalidateRangeEnd(): void {
    // Swaps are held off between start and end, so the slots found at start are still the ones.
    if (this.found > 0) this.vm.ctl.mmuInvalidateEnd();
    this.found = 0;
    this.vm.ctl.mnInvalidateEnd();
  }

  /** __kvm_handle_hva_range: returns how many memslots intersect [start, end). */
  private handleHvaRange(start: number, end: number): number {
    const vm = this.vm;
    const reader = vm.reader;
    let n = 0;
    const idx = vm.srcuReader.lock();
    try {
      for (let as = 0; as < vm.nrAs; as++) {
        reader.forEachInHvaRange(as, start, end - 1, (ref) => {
          if (n++ === 0) vm.ctl.mmuInvalidateBegin();
          const uaddr = reader.userspaceAddr(ref);
          const hvaStart = Math.max(start, uaddr);
          const hvaEnd = Math.min(end, uaddr + reader.npages(ref) * PAGE_SIZE);
          const gfnStart = vm.hvaToGfn(ref, hvaStart);
          const gfnEnd = vm.hvaToGfn(ref, hvaEnd + PAGE_SIZE - 1);
          // kvm_unmap_gfn_range: zap the sptes, flush every vCPU's TLB.
          if (as === 0) vm.mmu.zapGfnRange(gfnStart, gfnEnd);
          this.onUnmap?.({ asId: as, slot: reader.id(ref), start: gfnStart, end: gfnEnd });
        });
      }
    } finally {
      vm.srcuReader.unlock(idx);
    }
    return n;
  }
}
