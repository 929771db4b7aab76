/** The per-vCPU last-used-slot mini-cache of kvm_vcpu_gfn_to_memslot. */
import type { VmShared } from '../vm/shared.js';

/** A vCPU's last_used_slot and last_used_slot_gen. One per vCPU thread; not shared. */
export class VcpuMemslotCache {
  private slot = -1;
  private seq = -1;

  constructor(private readonly vm: VmShared) {}

  /**
   * kvm_vcpu_gfn_to_memslot (caller holds the SRCU read lock): the cached slot if the memslots are
   * the same instance (no swap since) and it contains `gfn`, else search_memslots directly, "to avoid thrashing the VM-wide
   * last_used_slot". Returns a slot ref, or -1.
   */
  lookup(asId: number, gfn: number): number {
    const r = this.vm.reader;
    // last_used_slot_gen: the identity of the memslots instance the slot came from.
    const seq = this.vm.ctl.activeSeq(asId);
    if (seq !== this.seq) {
      this.seq = seq;
      this.slot = -1;
    }
    const s = this.slot;
    if (s >= 0) {
      const base = r.baseGfn(s);
      if (gfn >= base && gfn < base + r.npages(s)) return s;
    }
    const found = r.searchGfn(asId, gfn);
    if (found >= 0) this.slot = found;
    return found;
  }
}
