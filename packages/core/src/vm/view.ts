/** attachVm: the read side of a VM in any thread, from its structured-cloneable handle. */
import { check } from '../errors.js';
import type { HostMemory } from '../host/host-memory.js';
import type { MemslotInfo } from '../memslots/memslot.js';
import { KvmMmuNotifier } from './mmu-notifier.js';
import { VmShared, type VmHandle } from './shared.js';

/** A worker's view of a VM: SRCU read side, memslot lookups, host memory. */
export class VmView {
  /** The VMM's address space, shared with every other thread of the VM. */
  readonly host: HostMemory;
  /** @internal */
  readonly shared: VmShared;
  private readonly notifier: KvmMmuNotifier;
  private detached = false;

  /** Use attachVm. */
  constructor(handle: VmHandle) {
    this.shared = VmShared.attach(handle);
    this.host = this.shared.host;
    this.notifier = new KvmMmuNotifier(this.shared);
    this.host.registerNotifier(this.notifier);
  }

  /** srcu_read_lock(&kvm->srcu). */
  srcuReadLock(): number {
    return this.shared.srcuReader.lock();
  }

  /** srcu_read_unlock(&kvm->srcu, idx). */
  srcuReadUnlock(idx: number): void {
    this.shared.srcuReader.unlock(idx);
  }

  /** gfn_to_memslot; the caller holds the SRCU read lock. */
  gfnToMemslot(gfn: number, asId = 0): MemslotInfo | undefined {
    check(Number.isInteger(asId) && asId >= 0 && asId < this.shared.nrAs, 'EINVAL', () => `asId must be < ${this.shared.nrAs}`);
    const ref = this.shared.reader.gfnToSlot(asId, gfn);
    return ref < 0 ? undefined : this.shared.info(asId, ref);
  }

  /** Slots of every address space whose host range meets [start, last]; takes the read lock itself. */
  memslotsInHvaRange(start: number, last: number): MemslotInfo[] {
    return this.shared.memslotsInHvaRange(start, last);
  }

  /** kvm_memslots(as)->generation. */
  memslotGeneration(asId = 0): bigint {
    return this.shared.ctl.activeGeneration(asId);
  }

  /** Gives back this thread's SRCU reader and notifier subscription. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.host.unregisterNotifier(this.notifier);
    this.host.release();
    this.shared.release();
  }
}

/** In any worker: attach the VM whose handle() was posted here. */
export function attachVm(handle: VmHandle): VmView {
  return new VmView(handle);
}
