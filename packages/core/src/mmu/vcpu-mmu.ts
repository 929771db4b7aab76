/**
 * A vCPU's MMU: its TLB, its request word, its memslot cache, and the TDP page-fault handler that a
 * TLB miss runs in the vCPU's own thread (the EPT-violation path, docs/mmu.md). Allocation-free.
 */
import { markDirty } from '../dirty/dirty-arena.js';
import { VcpuMemslotCache } from '../memslots/vcpu-cache.js';
import { KvmError } from '../errors.js';
import { FAULT_FLAG_WRITE, VM_FAULT_USERFAULT } from '../host/host-memory.js';
import {
  KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEM_PCI_HOLE, KVM_MEM_READONLY, KVM_MEMFAULT_REASON_ABSENT_MAPPING,
  KVM_MEMSLOT_INVALID, PAGE_SIZE,
} from '../uapi.js';
import { VMCTL_ALLONES_FRAME, VMCTL_MEMFAULT_REASONS, type VmShared } from '../vm/shared.js';
import { makeSpte, SPTE_WRITABLE, spteFrame } from './spte.js';
import { Tlb } from './tlb.js';
import { KVM_REQ_TLB_FLUSH, type VcpuRequests } from './vcpus.js';

/** The fault installed an spte: retry the access (it hits the TLB now). */
export const RET_PF_FIXED = 0;
/** A KVM_MEM_PCI_HOLE read, emulated in the kernel: every byte reads 0xff (seed 003 v2). */
export const RET_PF_EMULATE_FF = 1;
/** No usable memslot, an INVALID one, or a write KVM cannot map: MMIO emulation (in-kernel bus, else exit). */
export const RET_PF_MMIO = 2;
/** KVM_EXIT_MEMORY_FAULT with memoryFault filled in. */
export const RET_PF_MEMORY_FAULT = 3;
/** KVM_RUN fails with EFAULT (memoryFault filled in when the model can, as KVM_CAP_MEMORY_FAULT_INFO says). */
export const RET_PF_EFAULT = 4;
/** KVM_RUN fails with ENOMEM: no TDP page table could be allocated. */
export const RET_PF_ENOMEM = 5;

/** Faults in a row that lose to concurrent invalidations before the vCPU sleeps a little. */
const RETRY_SPIN = 64;

/** One vCPU's memory-management state and fault path. */
export class VcpuMmu {
  readonly tlb = new Tlb();
  readonly cache: VcpuMemslotCache;
  /** The spte installed by the last RET_PF_FIXED. */
  spte = 0;
  /** memory_fault of the last RET_PF_MEMORY_FAULT / RET_PF_EFAULT. */
  readonly memoryFault = { flags: 0, gpa: 0, size: 0 };
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(readonly vm: VmShared, readonly requests: VcpuRequests) {
    this.cache = new VcpuMemslotCache(vm);
  }

  /** Handles pending requests (KVM_REQ_TLB_FLUSH); called on guest entry and periodically by the hit path. */
  checkRequests(): void {
    const r = this.requests.pending();
    if (r & KVM_REQ_TLB_FLUSH) {
      this.tlb.flush();
      this.requests.ack(KVM_REQ_TLB_FLUSH);
    }
  }

  /** Looks `gfn` up in the TDP table and caches it in the TLB if present with enough rights. */
  walk(gfn: number, write: boolean): boolean {
    const spte = this.vm.tdp.spte(gfn);
    if (spte === 0 || (write && !(spte & SPTE_WRITABLE))) return false;
    this.tlb.fill(gfn, spte);
    return true;
  }

  /**
   * kvm_tdp_page_fault for an access at `gpa`. Returns a RET_PF_* code. Like KVM after a VM exit,
   * the vCPU is outside guest mode meanwhile: remote TLB flushes do not wait for it, and it handles
   * their requests before it re-enters.
   */
  pageFault(gpa: number, write: boolean): number {
    this.requests.exitGuest();
    try {
      return this.tdpPageFault(gpa, write);
    } catch (e) {
      if (e instanceof KvmError && e.code === 'ENOMEM') return RET_PF_ENOMEM;
      throw e;
    } finally {
      if (this.requests.enterGuest() !== 0) this.checkRequests();
    }
  }

  private tdpPageFault(gpa: number, write: boolean): number {
    const vm = this.vm;
    const r = vm.reader;
    const gfn = Math.floor(gpa / PAGE_SIZE);
    const idx = vm.srcuReader.lock();
    try {
      for (let attempt = 0; ; attempt++) {
        if (attempt >= RETRY_SPIN) Atomics.wait(this.sleeper, 0, 0, 0.05);
        const ref = this.cache.lookup(0, gfn);
        // No slot, or one being deleted or moved: MMIO (kvm_is_visible_memslot fails).
        if (ref < 0) return RET_PF_MMIO;
        const flags = r.flags(ref);
        if (flags & KVM_MEMSLOT_INVALID) return RET_PF_MMIO;
        if (flags & KVM_MEM_PCI_HOLE) {
          if (write) return RET_PF_MMIO;
          const allones = Atomics.load(vm.vmCtl, VMCTL_ALLONES_FRAME);
          if (allones === 0) return RET_PF_EMULATE_FF;
          // The ALLONES RFC: every hole page maps one shared read-only page of 0xff.
          if (this.install(gfn, makeSpte(allones, false), vm.ctl.mmuInvalidateSeq())) return RET_PF_FIXED;
          continue;
        }
        if (write && flags & KVM_MEM_READONLY) return RET_PF_MMIO;

        const seq = vm.ctl.mmuInvalidateSeq();
        const rel = gfn - r.baseGfn(ref);
        // The host page number, not the hva: it stays a small integer across calls (MMAP_BASE).
        const vpn = r.userspaceAddr(ref) / PAGE_SIZE + rel;
        const host = vm.host;
        const hidx = host.readLock();
        let userfault = false;
        try {
          let frame = host.lookupPage(vpn);
          if (frame < 0) return this.fault(0, gfn, RET_PF_EFAULT); // no VMA: hva_to_pfn fails
          if (frame === 0) {
            if (flags & KVM_MEM_ABSENT_MAPPING_FAULT) {
              // Seed 002: only fast GUP; an absent page exits instead of faulting it in.
              if (Atomics.load(vm.vmCtl, VMCTL_MEMFAULT_REASONS) & KVM_MEMFAULT_REASON_ABSENT_MAPPING) {
                return this.fault(KVM_MEMFAULT_REASON_ABSENT_MAPPING, gfn, RET_PF_MEMORY_FAULT);
              }
              this.memoryFault.flags = this.memoryFault.gpa = this.memoryFault.size = 0;
              return RET_PF_EFAULT;
            }
            try {
              // hva_to_pfn_slow: GUP, with FOLL_WRITE for a write fault.
              frame = host.faultIn(vpn * PAGE_SIZE, write ? FAULT_FLAG_WRITE : 0);
            } catch (e) {
              if (e instanceof KvmError) return this.fault(0, gfn, RET_PF_EFAULT);
              throw e;
            }
          }
          userfault = frame === VM_FAULT_USERFAULT;
          if (!userfault) {
            const bitmap = r.dirtyBitmap(ref);
            // Dirty logging maps pages read-only until written, so that the first write is logged.
            const writable = !(flags & KVM_MEM_READONLY) && (write || bitmap < 0);
            if (this.install(gfn, makeSpte(frame, writable), seq)) {
              // Marked after the writable spte exists: a harvest in between skips the page (its bit is
              // still clear) and the bit set here reports the write in the next round.
              if (write && bitmap >= 0) {
                vm.dirty.arena.refresh();
                markDirty(vm.dirty.arena.i32, bitmap, rel);
              }
              return RET_PF_FIXED;
            }
          }
        } finally {
          host.readUnlock(hidx);
        }
        // handle_userfault: GUP sleeps until the page is resolved (kvm->srcu stays held, as in KVM),
        // then the fault is retried; a uffd closed under it fails the access.
        if (userfault && !host.handleUserfault()) return this.fault(0, gfn, RET_PF_EFAULT);
      }
    } finally {
      vm.srcuReader.unlock(idx);
    }
  }

  /**
   * Installs `spte` unless an invalidation raced with us. Instead of mmu_lock, the check comes after
   * the install: the invalidation raises mmu_invalidate_in_progress before it zaps, so either its
   * zap sees our spte or we see its count (both sides use sequentially consistent atomics).
   */
  private install(gfn: number, spte: number, seq: number): boolean {
    const tdp = this.vm.tdp;
    const old = tdp.spte(gfn);
    if (old !== spte) {
      if (!tdp.exchange(gfn, old, spte)) return false;
      // Another frame replaced a present one: no vCPU may keep the old translation.
      if (old !== 0 && spteFrame(old) !== spteFrame(spte)) this.vm.mmu.flushRemoteTlbs();
    }
    const ctl = this.vm.ctl;
    if (ctl.mmuInvalidateInProgress() !== 0 || ctl.mmuInvalidateSeq() !== seq) {
      // Another vCPU may have cached the spte meanwhile; the invalidation's own flush came before.
      if (tdp.exchange(gfn, spte, 0)) this.vm.mmu.flushRemoteTlbs();
      return false;
    }
    this.spte = spte;
    this.tlb.fill(gfn, spte);
    return true;
  }

  private fault(flags: number, gfn: number, ret: number): number {
    this.memoryFault.flags = flags;
    this.memoryFault.gpa = gfn * PAGE_SIZE;
    this.memoryFault.size = PAGE_SIZE;
    return ret;
  }
}
