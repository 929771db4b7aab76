/**
 * The vCPU as guest code sees it: the guest-access hit path (TLB -> host frame, nothing else) and
 * the slow path (TDP walk, page fault, MMIO emulation, exits). Runs in the vCPU's own thread.
 */
import {
  KVM_EXIT_HLT, KVM_EXIT_SHUTDOWN, RET_PF_EFAULT, RET_PF_EMULATE_FF, RET_PF_ENOMEM, RET_PF_FIXED, RET_PF_MEMORY_FAULT, RET_PF_MMIO,
  SPTE_WRITABLE, spteFrame, TLB_ENTRIES, type VcpuMmu,
} from '@vcpu-rt/core';
import type { GuestContext } from './guest.js';
import { MMIO_DATA, STATS_WORD, type KvmRun, type UcallCmd } from './kvm-run.js';

/** Accesses between two looks at the vCPU's request word (the model's interrupt window). */
export const REQUEST_POLL_INTERVAL = 256;
const MASK = TLB_ENTRIES - 1;
const PAGE = 4096;

/** How the CPU leaves the guest: the vCPU thread's exit path (in-thread VMM, else the Vcpu.run caller). */
export interface ExitPath {
  /** Called at each interrupt window (every REQUEST_POLL_INTERVAL accesses) before requests are handled; may unwind the guest. */
  interrupt(): void;
  /** Delivers the exit in kvm_run and returns when the vCPU may continue. */
  exit(): void;
  /** Fails KVM_RUN with `errno` (and kvm_run.memory_fault if given), then returns when the vCPU is run again. */
  fail(errno: number, message: string, memoryFault?: { flags: number; gpa: number; size: number }): void;
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

/** The counters, in the order they sit in kvm_run from STATS_WORD on. */
export const CPU_STATS: readonly (keyof CpuStats)[] = ['tlbMisses', 'pageFaults', 'mmioExits', 'mmioBus', 'pciHoleEmulated', 'memoryFaults'];
const [TLB_MISSES, PAGE_FAULTS, MMIO_EXITS, MMIO_BUS, PCI_HOLE_EMULATED, MEMORY_FAULTS] = CPU_STATS.map((_, i) => STATS_WORD + i);

/** Reads a vCPU's counters from its kvm_run (any thread). */
export function readCpuStats(run: KvmRun): CpuStats {
  const out = {} as CpuStats;
  CPU_STATS.forEach((k, i) => { out[k] = Atomics.load(run.i32, STATS_WORD + i); });
  return out;
}

/** The guest-facing CPU of one vCPU. */
export class Cpu implements GuestContext {
  private readonly counters: Int32Array;
  private readonly tags: Float64Array;
  private readonly sptes: Int32Array;
  private readonly frames: DataView;
  private budget = REQUEST_POLL_INTERVAL;

  constructor(readonly vcpuId: number, private readonly mmu: VcpuMmu, private readonly run: KvmRun, private readonly out: ExitPath) {
    this.counters = run.i32;
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
    return this.slowRead(gpa, 1) as number;
  }

  read16(gpa: number): number {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const off = gpa & 4095;
    if (this.tags[i] === gfn && off <= PAGE - 2) return this.frames.getUint16(spteFrame(this.sptes[i]) * PAGE + off, true);
    return this.slowRead(gpa, 2) as number;
  }

  read32(gpa: number): number {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const off = gpa & 4095;
    if (this.tags[i] === gfn && off <= PAGE - 4) return this.frames.getUint32(spteFrame(this.sptes[i]) * PAGE + off, true);
    return this.slowRead(gpa, 4) as number;
  }

  read64(gpa: number): bigint {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const off = gpa & 4095;
    if (this.tags[i] === gfn && off <= PAGE - 8) return this.frames.getBigUint64(spteFrame(this.sptes[i]) * PAGE + off, true);
    return this.slowRead(gpa, 8) as bigint;
  }

  write8(gpa: number, v: number): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    if (this.tags[i] === gfn && s & SPTE_WRITABLE) this.frames.setUint8(spteFrame(s) * PAGE + (gpa & 4095), v);
    else this.slowWrite(gpa, 1, v);
  }

  write16(gpa: number, v: number): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    const off = gpa & 4095;
    if (this.tags[i] === gfn && s & SPTE_WRITABLE && off <= PAGE - 2) this.frames.setUint16(spteFrame(s) * PAGE + off, v, true);
    else this.slowWrite(gpa, 2, v);
  }

  write32(gpa: number, v: number): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    const off = gpa & 4095;
    if (this.tags[i] === gfn && s & SPTE_WRITABLE && off <= PAGE - 4) this.frames.setUint32(spteFrame(s) * PAGE + off, v, true);
    else this.slowWrite(gpa, 4, v);
  }

  write64(gpa: number, v: bigint): void {
    if (--this.budget === 0) this.poll();
    const gfn = Math.floor(gpa / PAGE);
    const i = gfn & MASK;
    const s = this.sptes[i];
    const off = gpa & 4095;
    if (this.tags[i] === gfn && s & SPTE_WRITABLE && off <= PAGE - 8) this.frames.setBigUint64(spteFrame(s) * PAGE + off, v, true);
    else this.slowWrite(gpa, 8, v);
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

  /** The interrupt window: the TLB flush a zap waits for happens here. */
  poll(): void {
    this.budget = REQUEST_POLL_INTERVAL;
    this.out.interrupt();
    this.mmu.checkRequests();
  }

  /** A read that missed the TLB: walk, fault, or emulate. A number for 1-4 bytes, a bigint for 8. */
  private slowRead(gpa: number, size: number): number | bigint {
    if (!(gpa >= 0 && Number.isSafeInteger(gpa))) throw new TypeError(`read${8 * size}: gpa must be a non-negative integer (got ${String(gpa)})`);
    if ((gpa & 4095) + size > PAGE) return this.splitRead(gpa, size);
    const gfn = Math.floor(gpa / PAGE);
    this.counters[TLB_MISSES]++;
    for (;;) {
      if (this.mmu.walk(gfn, false)) return this.frameRead(gfn, gpa, size);
      this.counters[PAGE_FAULTS]++;
      const r = this.mmu.pageFault(gpa, false);
      // Fixed: go round again through the TDP table (a flush on re-entry may have emptied the TLB).
      if (r === RET_PF_FIXED) continue;
      if (r === RET_PF_EMULATE_FF) {
        this.counters[PCI_HOLE_EMULATED]++;
        return size === 8 ? 0xffff_ffff_ffff_ffffn : 2 ** (8 * size) - 1;
      }
      if (r === RET_PF_MMIO) return this.mmioRead(gpa, size);
      this.faultExit(r);
    }
  }

  /** A write that missed the TLB (or found it read-only); `raw` is the guest's value, checked and truncated here. */
  private slowWrite(gpa: number, size: number, raw: number | bigint): void {
    if (!(gpa >= 0 && Number.isSafeInteger(gpa))) throw new TypeError(`write${8 * size}: gpa must be a non-negative integer (got ${String(gpa)})`);
    if (size === 8 ? typeof raw !== 'bigint' : typeof raw !== 'number' || !Number.isFinite(raw)) {
      throw new TypeError(`write${8 * size}: the value must be ${size === 8 ? 'a bigint' : 'a finite number'} (got ${typeof raw === 'bigint' ? `${raw}n` : JSON.stringify(raw) ?? String(raw)})`);
    }
    const v = size === 8 ? BigInt.asUintN(64, raw as bigint) : size === 4 ? (raw as number) >>> 0 : (raw as number) & (size === 2 ? 0xffff : 0xff);
    if ((gpa & 4095) + size > PAGE) {
      const big = BigInt(v);
      for (let k = 0; k < size; k++) this.write8(gpa + k, Number((big >> BigInt(8 * k)) & 0xffn));
      return;
    }
    const gfn = Math.floor(gpa / PAGE);
    this.counters[TLB_MISSES]++;
    for (;;) {
      if (!this.mmu.walk(gfn, true)) {
        this.counters[PAGE_FAULTS]++;
        const r = this.mmu.pageFault(gpa, true);
        if (r === RET_PF_MMIO) return this.mmioWrite(gpa, size, v);
        // Fixed or not, look again: a harvest on re-entry may have write-protected the page.
        if (r !== RET_PF_FIXED) this.faultExit(r);
        continue;
      }
      const at = spteFrame(this.sptes[gfn & MASK]) * PAGE + (gpa & 4095);
      const f = this.frames;
      if (size === 1) f.setUint8(at, v as number);
      else if (size === 2) f.setUint16(at, v as number, true);
      else if (size === 4) f.setUint32(at, v as number, true);
      else f.setBigUint64(at, v as bigint, true);
      return;
    }
  }

  /** Reads `size` bytes at `gpa` through the TLB entry of `gfn` (just filled). */
  private frameRead(gfn: number, gpa: number, size: number): number | bigint {
    const at = spteFrame(this.sptes[gfn & MASK]) * PAGE + (gpa & 4095);
    const f = this.frames;
    return size === 1 ? f.getUint8(at) : size === 2 ? f.getUint16(at, true) : size === 4 ? f.getUint32(at, true) : f.getBigUint64(at, true);
  }

  private splitRead(gpa: number, size: number): number | bigint {
    let v = 0n;
    for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(this.read8(gpa + k));
    return size === 8 ? v : Number(v);
  }

  /** The little-endian value of the first `size` bytes of mmio.data. */
  private mmioValue(size: number): number | bigint {
    const d = this.run.dv;
    return size === 1 ? d.getUint8(MMIO_DATA) : size === 2 ? d.getUint16(MMIO_DATA, true) : size === 4 ? d.getUint32(MMIO_DATA, true) : d.getBigUint64(MMIO_DATA, true);
  }

  /** vcpu_mmio_read: an in-kernel MMIO bus device answers, else userspace does through an exit. */
  private mmioRead(gpa: number, size: number): number | bigint {
    const vm = this.mmu.vm;
    const idx = vm.srcuReader.lock();
    const dev = vm.ioBus.find(gpa, size);
    const fill = dev >= 0 ? vm.ioBus.fill(dev) : 0;
    vm.srcuReader.unlock(idx);
    if (dev >= 0) {
      this.counters[MMIO_BUS]++;
      this.run.mmioData.fill(fill);
      return this.mmioValue(size);
    }
    this.counters[MMIO_EXITS]++;
    this.run.mmioData.fill(0);
    this.run.setMmio(gpa, size, false);
    this.out.exit();
    return this.mmioValue(size);
  }

  /** vcpu_mmio_write: a bus device that swallows writes completes it; otherwise it exits. */
  private mmioWrite(gpa: number, size: number, v: number | bigint): void {
    const vm = this.mmu.vm;
    const idx = vm.srcuReader.lock();
    const dev = vm.ioBus.find(gpa, size);
    const swallow = dev >= 0 && vm.ioBus.discardsWrites(dev);
    vm.srcuReader.unlock(idx);
    if (swallow) {
      this.counters[MMIO_BUS]++;
      return;
    }
    this.counters[MMIO_EXITS]++;
    const d = this.run.dv;
    this.run.mmioData.fill(0);
    if (size === 1) d.setUint8(MMIO_DATA, v as number);
    else if (size === 2) d.setUint16(MMIO_DATA, v as number, true);
    else if (size === 4) d.setUint32(MMIO_DATA, v as number, true);
    else d.setBigUint64(MMIO_DATA, v as bigint, true);
    this.run.setMmio(gpa, size, true);
    this.out.exit();
  }

  /** A memory-fault exit or an EFAULT from KVM_RUN; userspace fixes the mapping and runs again. */
  private faultExit(r: number): void {
    const mf = this.mmu.memoryFault;
    if (r === RET_PF_MEMORY_FAULT) {
      this.counters[MEMORY_FAULTS]++;
      this.run.setMemoryFault(mf.flags, mf.gpa, mf.size);
      this.out.exit();
      return;
    }
    if (r === RET_PF_EFAULT) {
      this.out.fail(-14, mf.size ? `guest access to gpa 0x${mf.gpa.toString(16)} could not be resolved` : 'guest access to a page with no present host mapping (KVM_MEM_ABSENT_MAPPING_FAULT without KVM_CAP_X86_MEMORY_FAULT_EXIT)', mf);
      return;
    }
    if (r === RET_PF_ENOMEM) {
      this.out.fail(-12, 'no TDP page table could be allocated');
      return;
    }
    throw new Error(`page fault returned ${r}`);
  }
}
