/**
 * The state of one VM that every thread sees (struct kvm minus what only the ioctl writer touches):
 * host memory, SRCU, the memslot control block and sets, dirty bitmaps, and the VM control words.
 * Built from scratch by a Vm, or from a VmHandle by attachVm in any worker.
 */
import { DirtyArena } from '../dirty/dirty-arena.js';
import { HostMemory, type HostMemoryHandle } from '../host/host-memory.js';
import { ArrayReader } from '../memslots/array/array-reader.js';
import { MemslotsCtl } from '../memslots/ctl.js';
import type { MemslotInfo } from '../memslots/memslot.js';
import type { MemslotReader, MemslotStoreHandle } from '../memslots/store.js';
import { TreeReader } from '../memslots/tree/tree-reader.js';
import { GrowableArena } from '../sync/growable.js';
import { Srcu, type SrcuReader } from '../srcu.js';
import { PAGE_SIZE } from '../uapi.js';
import { KvmMmu } from '../mmu/mmu.js';
import { Tdp, type TdpHandle } from '../mmu/tdp.js';
import { VcpuTable } from '../mmu/vcpus.js';
import { IoBus } from './io-bus.js';

/** VM control words (Int32) that vCPU threads read. */
export const VMCTL_MEMFAULT_REASONS = 0;
export const VMCTL_MANUAL_DIRTY_LOG = 1;
export const VMCTL_CLOSED = 2;
/** The frame of the shared 0xff page when KVM_MEM_PCI_HOLE is implemented as the ALLONES RFC did; 0 otherwise. */
export const VMCTL_ALLONES_FRAME = 3;
const VMCTL_WORDS = 8;

/** Everything another thread needs to attach a VM: SharedArrayBuffers and numbers only. */
export interface VmHandle {
  kind: 'vcpu-rt/vm';
  addressSpaces: number;
  host: HostMemoryHandle;
  srcu: SharedArrayBuffer;
  memslotsCtl: SharedArrayBuffer;
  memslots: MemslotStoreHandle;
  dirty: SharedArrayBuffer;
  vmCtl: SharedArrayBuffer;
  tdp: TdpHandle;
  vcpus: SharedArrayBuffer;
  ioBus: SharedArrayBuffer;
}

/** One thread's view of a VM's shared state, with its own SRCU reader and memslot reader. */
export class VmShared {
  readonly srcuReader: SrcuReader;
  readonly reader: MemslotReader;
  /** The MMU operations of this VM, run in this thread. */
  readonly mmu: KvmMmu;

  constructor(
    readonly nrAs: number,
    readonly host: HostMemory,
    readonly srcu: Srcu,
    readonly ctl: MemslotsCtl,
    readonly memslotsHandle: MemslotStoreHandle,
    readonly dirty: DirtyArena,
    readonly vmCtl: Int32Array,
    reader: MemslotReader,
    readonly tdp: Tdp,
    readonly vcpus: VcpuTable,
    readonly ioBus: IoBus,
  ) {
    this.srcuReader = srcu.registerReader();
    this.reader = reader;
    this.mmu = new KvmMmu(tdp, vcpus);
  }

  /** New control words for a VM. */
  static newVmCtl(): Int32Array {
    return new Int32Array(new SharedArrayBuffer(VMCTL_WORDS * 4));
  }

  /** This thread's view of the VM behind `h`. */
  static attach(h: VmHandle): VmShared {
    if (!h || h.kind !== 'vcpu-rt/vm') throw new TypeError('attachVm: not a VmHandle (kind must be "vcpu-rt/vm")');
    const ctl = new MemslotsCtl(h.memslotsCtl, h.addressSpaces);
    const reader = h.memslots.kind === 'tree'
      ? new TreeReader(ctl, new Int32Array(h.memslots.buffers[0]), new GrowableArena(h.memslots.buffers[1]))
      : new ArrayReader(ctl, h.memslots.buffers.map((b) => new GrowableArena(b)));
    return new VmShared(h.addressSpaces, HostMemory.attach(h.host), new Srcu(h.srcu), ctl, h.memslots,
      new DirtyArena(h.dirty), new Int32Array(h.vmCtl), reader, new Tdp(h.tdp), new VcpuTable(h.vcpus), new IoBus(h.ioBus));
  }

  /** The structured-cloneable handle of this VM. */
  handle(): VmHandle {
    return {
      kind: 'vcpu-rt/vm', addressSpaces: this.nrAs, host: this.host.handle(), srcu: this.srcu.buffer,
      memslotsCtl: this.ctl.buffer, memslots: this.memslotsHandle, dirty: this.dirty.arena.buffer,
      vmCtl: this.vmCtl.buffer as SharedArrayBuffer, tdp: this.tdp.h, vcpus: this.vcpus.buffer, ioBus: this.ioBus.buffer,
    };
  }

  /** Snapshot of the slot `ref` (caller holds the SRCU read lock). */
  info(asId: number, ref: number): MemslotInfo {
    const r = this.reader;
    return { id: r.id(ref), asId, baseGfn: r.baseGfn(ref), npages: r.npages(ref), userspaceAddr: r.userspaceAddr(ref), flags: r.flags(ref) };
  }

  /** Every slot whose host range meets [start, last], in every address space (takes the SRCU read lock). */
  memslotsInHvaRange(start: number, last: number): MemslotInfo[] {
    const out: MemslotInfo[] = [];
    const idx = this.srcuReader.lock();
    try {
      for (let as = 0; as < this.nrAs; as++) this.reader.forEachInHvaRange(as, start, last, (ref) => out.push(this.info(as, ref)));
    } finally {
      this.srcuReader.unlock(idx);
    }
    return out;
  }

  /** The gfn that `hva` maps to in slot `ref` (hva_to_gfn_memslot). */
  hvaToGfn(ref: number, hva: number): number {
    return this.reader.baseGfn(ref) + Math.floor((hva - this.reader.userspaceAddr(ref)) / PAGE_SIZE);
  }

  /** Drops this thread's SRCU reader. */
  release(): void {
    this.srcuReader.release();
  }
}
