/**
 * The vCPU as guest code sees it: the guest-access hit path (TLB -> host frame, nothing else) and
 * the slow path (TDP walk, page fault, MMIO emulation, exits). Runs in the vCPU's own thread.
 */
import {
  KVM_EXIT_HLT, KVM_EXIT_SHUTDOWN, RET_PF_EFAULT, RET_PF_EMULATE_FF, RET_PF_FIXED, RET_PF_MEMORY_FAULT, RET_PF_MMIO,
  SPTE_WRITABLE, spteFrame, TLB_ENTRIES, type VcpuMmu,
} from '@vcpu-rt/core';
import type { GuestContext } from './guest.js';
import type { KvmRun, UcallCmd } from './kvm-run.js';

/** Accesses between two looks at the vCPU's request word (the model's interrupt window). */
export const REQUEST_POLL_INTERVAL = 256;
const MASK = TLB_ENTRIES - 1;
const PAGE = 4096;

/** How the CPU leaves the guest: the vCPU thread's exit path (in-thread VMM, else the Vcpu.run caller). */
export interface ExitPath {
  /** Delivers the exit in kvm_run and returns when the vCPU may continue. */
  exit(): void;
  /** Fails KVM_RUN with `errno`, then returns when the vCPU is run again. */
  fail(errno: number, message: string): void;
}

/** Counters of what the CPU did. */
export interface CpuStats {
  tlbMisses: number;
  pageFaults: number;
  mmioExits: number;
  mmioBus: number;
  pciHoleEmulated: number;
  memoryFaults: number;
}

/** The guest-facing CPU of one vCPU. */
export class Cpu implements GuestContext {
  readonly stats: CpuStats = { tlbMisses: 0, pageFaults: 0, mmioExits: 0, mmioBus: 0, pciHoleEmulated: 0, memoryFaults: 0 };
  private readonly tags: Float64Array;
  private readonly sptes: Int32Array;
  private readonly frames: DataView;
  private budget = REQUEST_POLL_INTERVAL;

  constructor(readonly vcpuId: number, private readonly mmu: VcpuMmu, private readonly run: KvmRun, private readonly out: ExitPath) {
    this.tags = mmu.tlb.tags;
    this.sptes = mmu.tlb.sptes;
    const f = mmu.vm.host.frameBytes;
    this.frames = new DataView(f.buffer, f.byteOffset, f.byteLength);
  }

  // --- the hit path: a TLB hit reads or writes the host frame; nothing else ----------------------

  read8(gpa: number): number {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    if (this.tags[i] === gfn) return this.frames.getUint8(spteFrame(this.sptes[i]) * PAGE + (gpa & 4095));
    return Number(this.slowRead(gpa, 1));
  }

  read16(gpa: number): number {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const off = gpa & 4095;
    if (this.tags[i] === gfn && off <= PAGE - 2) return this.frames.getUint16(spteFrame(this.sptes[i]) * PAGE + off, true);
    return Number(this.slowRead(gpa, 2));
  }

  read32(gpa: number): number {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const off = gpa & 4095;
    if (this.tags[i] === gfn && off <= PAGE - 4) return this.frames.getUint32(spteFrame(this.sptes[i]) * PAGE + off, true);
    return Number(this.slowRead(gpa, 4));
  }

  read64(gpa: number): bigint {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const off = gpa & 4095;
    if (this.tags[i] === gfn && off <= PAGE - 8) return this.frames.getBigUint64(spteFrame(this.sptes[i]) * PAGE + off, true);
    return BigInt(this.slowRead(gpa, 8));
  }

  write8(gpa: number, v: number): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    if (this.tags[i] === gfn && s & SPTE_WRITABLE) this.frames.setUint8(spteFrame(s) * PAGE + (gpa & 4095), v);
    else this.slowWrite(gpa, 1, BigInt(v & 0xff));
  }

  write16(gpa: number, v: number): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    const off = gpa & 4095;
    if (this.tags[i] === gfn && s & SPTE_WRITABLE && off <= PAGE - 2) this.frames.setUint16(spteFrame(s) * PAGE + off, v, true);
    else this.slowWrite(gpa, 2, BigInt(v & 0xffff));
  }

  write32(gpa: number, v: number): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    const off = gpa & 4095;
    if (this.tags[i] === gfn && s & SPTE_WRITABLE && off <= PAGE - 4) this.frames.setUint32(spteFrame(s) * PAGE + off, v, true);
    else this.slowWrite(gpa, 4, BigInt(v >>> 0));
  }

  write64(gpa: number, v: bigint): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    const off = gpa & 4095;
    if (this.tags[i] === gfn && s & SPTE_WRITABLE && off <= PAGE - 8) this.frames.setBigUint64(spteFrame(s) * PAGE + off, v, true);
    else this.slowWrite(gpa, 8, BigInt.asUintN(64, v));
  }

  // --- everything else ---------------------------------------------------------------------------

  ucall(cmd: UcallCmd, values: (number | bigint)[] = []): void {
    this.run.setUcall(cmd, values);
    this.out.exit();
  }

  halt(): void {
    this.run.setReason(KVM_EXIT_HLT);
    this.out.exit();
  }

  shutdown(): void {
    this.run.setReason(KVM_EXIT_SHUTDOWN);
    this.out.exit();
  }

  readBlock(gpa: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read8(gpa + i);
    return out;
  }

  writeBlock(gpa: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.write8(gpa + i, data[i]);
  }

  /** Looks at the request word: the TLB flush a zap waits for happens here. */
  poll(): void {
    this.budget = REQUEST_POLL_INTERVAL;
    this.mmu.checkRequests();
  }

  /** A read that missed the TLB: walk, fault, or emulate. Returns the value as a bigint. */
  private slowRead(gpa: number, size: number): bigint {
    if ((gpa & 4095) + size > PAGE) return this.splitRead(gpa, size);
    const gfn = Math.floor(gpa / PAGE);
    this.stats.tlbMisses++;
    for (;;) {
      if (this.mmu.walk(gfn, false)) return this.tlbRead(gfn, gpa, size);
      this.stats.pageFaults++;
      const r = this.mmu.pageFault(gpa, false);
      if (r === RET_PF_FIXED) return this.tlbRead(gfn, gpa, size);
      if (r === RET_PF_EMULATE_FF) {
        this.stats.pciHoleEmulated++;
        return (1n << BigInt(8 * size)) - 1n;
      }
      if (r === RET_PF_MMIO) return this.mmioRead(gpa, size);
      this.faultExit(r);
    }
  }

  private slowWrite(gpa: number, size: number, v: bigint): void {
    if ((gpa & 4095) + size > PAGE) {
      for (let k = 0; k < size; k++) this.write8(gpa + k, Number((v >> BigInt(8 * k)) & 0xffn));
      return;
    }
    const gfn = Math.floor(gpa / PAGE);
    this.stats.tlbMisses++;
    for (;;) {
      if (!this.mmu.walk(gfn, true)) {
        this.stats.pageFaults++;
        const r = this.mmu.pageFault(gpa, true);
        if (r === RET_PF_MMIO) return this.mmioWrite(gpa, size, v);
        if (r !== RET_PF_FIXED) {
          this.faultExit(r);
          continue;
        }
      }
      const s = this.sptes[gfn & MASK];
      const at = spteFrame(s) * PAGE + (gpa & 4095);
      for (let k = 0; k < size; k++) this.frames.setUint8(at + k, Number((v >> BigInt(8 * k)) & 0xffn));
      return;
    }
  }

  private tlbRead(gfn: number, gpa: number, size: number): bigint {
    const at = spteFrame(this.sptes[gfn & MASK]) * PAGE + (gpa & 4095);
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(this.frames.getUint8(at + k));
    return v;
  }

  private splitRead(gpa: number, size: number): bigint {
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(this.read8(gpa + k));
    return v;
  }

  /** vcpu_mmio_read: an in-kernel MMIO bus device answers, else userspace does through an exit. */
  private mmioRead(gpa: number, size: number): bigint {
    const bus = this.mmu.vm.ioBus;
    const idx = this.mmu.vm.srcuReader.lock();
    const dev = bus.find(gpa, size);
    const fill = dev >= 0 ? bus.fill(dev) : 0;
    this.mmu.vm.srcuReader.unlock(idx);
    if (dev >= 0) {
      this.stats.mmioBus++;
      let v = 0n;
      for (let k = 0; k < size; k++) v = (v << 8n) | BigInt(fill);
      return v;
    }
    this.stats.mmioExits++;
    this.run.mmioData.fill(0);
    this.run.setMmio(gpa, size, false);
    this.out.exit();
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(this.run.mmioData[k]);
    return v;
  }

  /** vcpu_mmio_write: a bus device that swallows writes completes it; otherwise it exits. */
  private mmioWrite(gpa: number, size: number, v: bigint): void {
    const bus = this.mmu.vm.ioBus;
    const idx = this.mmu.vm.srcuReader.lock();
    const dev = bus.find(gpa, size);
    const swallow = dev >= 0 && bus.discardsWrites(dev);
    this.mmu.vm.srcuReader.unlock(idx);
    if (swallow) {
      this.stats.mmioBus++;
      return;
    }
    this.stats.mmioExits++;
    const d = this.run.mmioData;
    d.fill(0);
    for (let k = 0; k < size; k++) d[k] = Number((v >> BigInt(8 * k)) & 0xffn);
    this.run.setMmio(gpa, size, true);
    this.out.exit();
  }

  /** A memory-fault exit or an EFAULT from KVM_RUN; userspace fixes the mapping and runs again. */
  private faultExit(r: number): void {
    const mf = this.mmu.memoryFault;
    if (r === RET_PF_MEMORY_FAULT) {
      this.stats.memoryFaults++;
      this.run.setMemoryFault(mf.flags, mf.gpa, mf.size);
      this.out.exit();
      return;
    }
    if (r === RET_PF_EFAULT) {
      this.run.setMemoryFault(mf.flags, mf.gpa, mf.size);
      this.out.fail(-14, mf.size ? `guest access to gpa 0x${mf.gpa.toString(16)} could not be resolved` : 'guest access to a page with no present host mapping (KVM_MEM_ABSENT_MAPPING_FAULT without KVM_CAP_X86_MEMORY_FAULT_EXIT)');
      return;
    }
    throw new Error(`page fault returned ${r}`);
  }
}
