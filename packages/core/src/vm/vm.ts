/** A VM (struct kvm) and its memory ioctls, run synchronously in the calling thread. */
import { check, KvmError } from '../errors.js';
import { DirtyArena } from '../dirty/dirty-arena.js';
import { HostMemory } from '../host/host-memory.js';
import { ArrayMemslotStore } from '../memslots/array/array-store.js';
import { MemslotsCtl } from '../memslots/ctl.js';
import { memslotInfo, type MemslotImpl, type MemslotInfo } from '../memslots/memslot.js';
import type { MemslotStore } from '../memslots/store.js';
import { TreeMemslotStore } from '../memslots/tree/tree-store.js';
import { Srcu } from '../srcu.js';
import { KVM_CAP_MULTI_ADDRESS_SPACE, PAGE_SHIFT } from '../uapi.js';
import { checkExtension, enableCap, KNOWN_CAPS, type CapState } from './caps.js';
import { clearDirtyLog, getDirtyLog, type ClearDirtyLogRequest } from './dirty-log.js';
import { readGuest, writeGuest } from './guest-access.js';
import { KvmMmuNotifier, type GfnRangeHandler } from './mmu-notifier.js';
import { setMemoryRegion, type MrChange, type SetMemoryRegionContext, type UserspaceMemoryRegion } from './set-memory-region.js';
import { VMCTL_ALLONES_FRAME, VMCTL_CLOSED, VMCTL_MANUAL_DIRTY_LOG, VMCTL_MEMFAULT_REASONS, VmShared, type VmHandle } from './shared.js';
import { Tdp } from '../mmu/tdp.js';
import { VcpuTable } from '../mmu/vcpus.js';
import type { MmuStats } from '../mmu/mmu.js';
import { IoBus, type MmioBusDevice } from './io-bus.js';

/** Options of KVM_CREATE_VM in this model. */
export interface VmOptions {
  /** 'tree' (default): the scalable 5.17+ memslots; 'array': the pre-5.17 design. */
  memslots?: MemslotImpl;
  /** 1 (default) or 2: x86 SMM's second address space (slot bits 16-31). */
  addressSpaces?: 1 | 2;
  /** Model an older kernel: these capabilities report 0 and their flags are EINVAL. */
  disabledCaps?: number[];
  /** Host physical memory for page frames, in bytes (default 1 GiB). */
  hostMemoryBytes?: number;
  /** Host MAXPHYADDR, which bounds guest frame numbers (kvm_mmu_max_gfn); default 46, at most 48 (4-level TDP). */
  physAddrBits?: number;
  /**
   * How KVM_MEM_PCI_HOLE reads are served: 'emulate' (default, seed 003 v2: emulated in the kernel
   * on every read, no memory) or 'allones' (the ALLONES RFC: every hole page maps one shared
   * read-only page of 0xff).
   */
  pciHole?: 'emulate' | 'allones';
}

/** A virtual machine: the memory uAPI of struct kvm. */
export class Vm {
  /** The VMM process's memory that slots point into. */
  readonly host: HostMemory;
  /** Which memslot design this VM uses. */
  readonly memslotImpl: MemslotImpl;
  /** @internal this thread's view of the shared state */
  readonly shared: VmShared;
  /** @internal the writer side of the memslot sets */
  readonly store: MemslotStore;
  private readonly ctx: SetMemoryRegionContext;
  private readonly caps: CapState = { manualDirtyLogProtect: 0, memfaultExitReasons: 0 };
  private readonly disabled: ReadonlySet<number>;
  private readonly notifier: KvmMmuNotifier;
  private closed = false;

  /** Use Kvm.createVm. */
  constructor(options: VmOptions = {}) {
    check(typeof options === 'object' && options !== null, 'EINVAL', 'createVm: options must be an object');
    const impl = options.memslots ?? 'tree';
    check(impl === 'tree' || impl === 'array', 'EINVAL', () => `createVm: memslots must be 'tree' or 'array' (got ${String(impl)})`);
    const nrAs = options.addressSpaces ?? 1;
    check(nrAs === 1 || nrAs === 2, 'EINVAL', () => `createVm: addressSpaces must be 1 or 2 (got ${String(nrAs)})`);
    const disabledCaps = options.disabledCaps ?? [];
    check(Array.isArray(disabledCaps) && disabledCaps.every((c) => Number.isInteger(c)), 'EINVAL', 'createVm: disabledCaps must be an array of capability numbers');
    for (const c of disabledCaps) {
      check(KNOWN_CAPS.includes(c), 'EINVAL', () => `createVm: disabledCaps names capability ${c}, which this model does not implement`);
    }
    this.disabled = new Set(disabledCaps);
    check(!(nrAs === 2 && this.disabled.has(KVM_CAP_MULTI_ADDRESS_SPACE)), 'EINVAL',
      'createVm: addressSpaces 2 needs KVM_CAP_MULTI_ADDRESS_SPACE, which disabledCaps removes');
    const physAddrBits = options.physAddrBits ?? 46;
    // The TDP table has 4 levels, as 4-level EPT: 48-bit guest physical addresses at most.
    check(Number.isInteger(physAddrBits) && physAddrBits >= 32 && physAddrBits <= 48, 'EINVAL', () => `createVm: physAddrBits must be an integer in [32, 48] (got ${physAddrBits})`);

    this.memslotImpl = impl;
    this.host = HostMemory.create(options.hostMemoryBytes === undefined ? {} : { physicalBytes: options.hostMemoryBytes });
    const srcu = new Srcu();
    const ctl = MemslotsCtl.create(nrAs);
    this.store = impl === 'tree' ? new TreeMemslotStore(ctl, srcu) : new ArrayMemslotStore(ctl, srcu);
    const pciHole = options.pciHole ?? 'emulate';
    check(pciHole === 'emulate' || pciHole === 'allones', 'EINVAL', `createVm: pciHole must be 'emulate' or 'allones' (got ${String(pciHole)})`);
    const dirty = new DirtyArena();
    this.shared = new VmShared(nrAs, this.host, srcu, ctl, this.store.handle(), dirty, VmShared.newVmCtl(), this.store.reader(),
      Tdp.create(), new VcpuTable(), new IoBus());
    if (pciHole === 'allones') Atomics.store(this.shared.vmCtl, VMCTL_ALLONES_FRAME, this.host.allocKernelFrame(0xff));
    this.ctx = {
      store: this.store, dirty, mmu: this.shared.mmu, nrAs, disabledCaps: this.disabled, manualDirtyLogProtect: 0,
      maxGfn: 2 ** (physAddrBits - PAGE_SHIFT) - 1, nrMemslotPages: 0, nrMemslotsDirtyLogging: 0,
    };
    this.notifier = new KvmMmuNotifier(this.shared);
    this.host.registerNotifier(this.notifier);
  }

  /** Address spaces of this VM (1, or 2 with SMM). */
  get addressSpaces(): number {
    return this.shared.nrAs;
  }

  /** KVM_CHECK_EXTENSION on the VM fd. */
  checkExtension(cap: number): number {
    return checkExtension(cap, this.disabled, this.shared.nrAs);
  }

  /** KVM_ENABLE_CAP on the VM fd. */
  enableCap(cap: number, args: readonly number[] = []): void {
    this.live();
    check(Array.isArray(args), 'EINVAL', 'enableCap: args must be an array');
    enableCap(cap, args, this.disabled, this.caps);
    this.ctx.manualDirtyLogProtect = this.caps.manualDirtyLogProtect;
    Atomics.store(this.shared.vmCtl, VMCTL_MANUAL_DIRTY_LOG, this.caps.manualDirtyLogProtect);
    Atomics.store(this.shared.vmCtl, VMCTL_MEMFAULT_REASONS, this.caps.memfaultExitReasons);
  }

  /** KVM_SET_USER_MEMORY_REGION: synchronous, like the ioctl; returns the change it made. */
  setUserMemoryRegion(region: UserspaceMemoryRegion): MrChange | 'none' {
    this.live();
    return setMemoryRegion(this.ctx, region);
  }

  /** kvm_memslots(as)->generation. */
  memslotGeneration(asId = 0): bigint {
    this.checkAs(asId);
    return this.shared.ctl.activeGeneration(asId);
  }

  /** gfn_to_memslot: the slot containing `gfn` in address space `asId`. */
  gfnToMemslot(gfn: number, asId = 0): MemslotInfo | undefined {
    this.checkAs(asId);
    check(Number.isSafeInteger(gfn) && gfn >= 0, 'EINVAL', () => `gfn must be a non-negative integer (got ${String(gfn)})`);
    const idx = this.shared.srcuReader.lock();
    try {
      const ref = this.shared.reader.gfnToSlot(asId, gfn);
      return ref < 0 ? undefined : this.shared.info(asId, ref);
    } finally {
      this.shared.srcuReader.unlock(idx);
    }
  }

  /** Slots of every address space whose host range meets [start, last] (inclusive). */
  memslotsInHvaRange(start: number, last: number): MemslotInfo[] {
    check(Number.isSafeInteger(start) && Number.isSafeInteger(last) && start >= 0 && last >= start, 'EINVAL',
      () => `memslotsInHvaRange: need integers 0 <= start <= last (got ${start}, ${last})`);
    return this.shared.memslotsInHvaRange(start, last);
  }

  /** The slots of address space `asId`, ascending base gfn. */
  memslots(asId = 0): MemslotInfo[] {
    this.checkAs(asId);
    return this.store.list(asId).map(memslotInfo);
  }

  /** KVM_GET_DIRTY_LOG: ALIGN(npages, 64) / 8 bytes, bit i for gfn base + i. */
  getDirtyLog(slot: number): Uint8Array {
    this.live();
    return getDirtyLog(this.store, this.shared.dirty, this.shared.mmu, this.shared.nrAs, this.caps.manualDirtyLogProtect, slot);
  }

  /** KVM_CLEAR_DIRTY_LOG. */
  clearDirtyLog(req: ClearDirtyLogRequest): void {
    this.live();
    clearDirtyLog(this.store, this.shared.dirty, this.shared.mmu, this.shared.nrAs, req);
  }

  /** kvm_read_guest. */
  readGuest(gpa: number, length: number): Uint8Array {
    this.live();
    return readGuest(this.shared, gpa, length);
  }

  /** kvm_write_guest (marks pages dirty). */
  writeGuest(gpa: number, data: Uint8Array): void {
    this.live();
    writeGuest(this.shared, gpa, data);
  }

  /** The structured-cloneable handle that attachVm takes in another thread. */
  handle(): VmHandle {
    return this.shared.handle();
  }

  /** kvm->nr_memslot_pages. */
  get nrMemslotPages(): number {
    return this.ctx.nrMemslotPages;
  }

  /** kvm->nr_memslots_dirty_logging. */
  get nrMemslotsDirtyLogging(): number {
    return this.ctx.nrMemslotsDirtyLogging;
  }

  /** Bytes of shared memory the memslot sets and dirty bitmaps occupy. */
  memslotBytes(): number {
    return this.store.bytes() + this.shared.dirty.bytes();
  }

  /** Adds a device to the in-kernel MMIO bus: reads of its range return `fill` bytes without an exit. */
  registerMmioDevice(dev: MmioBusDevice): void {
    this.live();
    check(typeof dev === 'object' && dev !== null, 'EINVAL', 'registerMmioDevice: device must be an object');
    this.shared.ioBus.register({ gpa: dev.gpa, len: dev.len, fill: dev.fill, discardWrites: !!dev.discardWrites }, this.shared.srcu);
  }

  /** Removes the MMIO bus device at `gpa`. */
  unregisterMmioDevice(gpa: number): void {
    this.live();
    this.shared.ioBus.unregister(gpa, this.shared.srcu);
  }

  /** The in-kernel MMIO bus devices. */
  mmioDevices(): MmioBusDevice[] {
    return this.shared.ioBus.list();
  }

  /** MMU work done from this thread: sptes zapped and write-protected, remote TLB flushes. */
  mmuStats(): MmuStats {
    return { ...this.shared.mmu.stats };
  }

  /** Sptes present for gfns [start, end) of address space 0. */
  mappedPages(start: number, end: number): number {
    return this.shared.tdp.countPresent(start, end);
  }

  /** @internal Subscribe to the gfn ranges host invalidations cover (the MMU's zap). */
  onGfnRangeUnmap(handler: GfnRangeHandler | undefined): void {
    this.notifier.onUnmap = handler;
  }

  /** Has close() been called? */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Releases the VM; later ioctls fail with EIO. EBUSY while vCPUs exist: in the kernel each vCPU
   * holds a reference on its VM, which outlives a close of the VM fd; here a VM whose vCPU threads
   * still read its shared memory must not be torn down under them (docs/uapi-choices.md).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const live = this.shared.vcpus.live();
    if (live > 0) throw new KvmError('EBUSY', `close: ${live} vCPU${live > 1 ? 's' : ''} of this VM still exist; destroy() them first`);
    this.closed = true;
    Atomics.store(this.shared.vmCtl, VMCTL_CLOSED, 1);
    this.host.unregisterNotifier(this.notifier);
    this.host.release();
    this.shared.release();
  }

  private live(): void {
    if (this.closed) throw new KvmError('EIO', 'the VM is closed');
  }

  private checkAs(asId: number): void {
    check(Number.isInteger(asId) && asId >= 0 && asId < this.shared.nrAs, 'EINVAL',
      () => `asId must be an address space of this VM, 0..${this.shared.nrAs - 1} (got ${String(asId)})`);
  }
}
