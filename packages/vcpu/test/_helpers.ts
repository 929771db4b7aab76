/** Shared helpers of the vCPU behaviour tests (not a test file itself). */
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { Kvm, KVM_EXIT_IO, KVM_EXIT_MMIO, PAGE_SIZE, type UserspaceMemoryRegion, type Vm, type VmOptions } from '@vcpu-rt/core';
import { createVcpu, type GuestSpec, type KvmExit, type Vcpu, type VcpuOptions } from '@vcpu-rt/vcpu';

export const KiB = 1024;
export const MiB = 1024 * KiB;

const kvm = new Kvm();

/** A VM closed when the test ends (after its vCPUs: teardowns run in reverse order). Host memory defaults to 64 MiB. */
export function newVm(t: ExecutionContext, options: VmOptions = {}): Vm {
  const vm = kvm.createVm({ hostMemoryBytes: 64 * MiB, ...options });
  t.teardown(() => vm.close());
  return vm;
}

/**
 * createVcpu, destroyed when the test ends. (The teardown ignores a failing destroy(), so that a test
 * may destroy the vCPU itself; the robustness tests check destroy() directly.)
 */
export async function spawn(t: ExecutionContext, vm: Vm, id: number, guest: GuestSpec, options?: VcpuOptions): Promise<Vcpu> {
  const vcpu = await createVcpu(vm, id, guest, options);
  t.teardown(() => vcpu.destroy().catch(() => {}));
  return vcpu;
}

/** 'module:<abs path>#<export>' of a compiled fixture in test/fixtures/. */
export function fixture(file: string, exportName: string): string {
  return `module:${fileURLToPath(new URL(`./fixtures/${file}.js`, import.meta.url))}#${exportName}`;
}

/** Maps host memory for a slot and creates it; returns the hva. */
export function addSlot(vm: Vm, r: { slot: number; gpa: number; size: number; flags?: number; populate?: boolean; hva?: number }): number {
  const hva = r.hva ?? vm.host.mmap(r.size, { populate: r.populate ?? false });
  vm.setUserMemoryRegion({ slot: r.slot, flags: r.flags ?? 0, guestPhysAddr: r.gpa, memorySize: r.size, userspaceAddr: hva });
  return hva;
}

/** Deletes a slot (memorySize 0). */
export function deleteSlot(vm: Vm, slot: number): void {
  vm.setUserMemoryRegion({ slot, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: 0 });
}

/** Moves an existing slot, keeping its other fields. */
export function moveSlot(vm: Vm, slot: number, gpa: number): void {
  const m = vm.memslots().find((s) => s.id === slot);
  if (!m) throw new Error(`slot ${slot} does not exist`);
  const r: UserspaceMemoryRegion = { slot, flags: m.flags, guestPhysAddr: gpa, memorySize: m.npages * PAGE_SIZE, userspaceAddr: m.userspaceAddr };
  vm.setUserMemoryRegion(r);
}

/** Asserts the exit is a ucall `cmd`; returns its values. */
export function ucall(t: ExecutionContext, exit: KvmExit, cmd: 'sync' | 'done' | 'assert'): (number | bigint)[] {
  if (exit.reason !== KVM_EXIT_IO) {
    t.fail(`expected a ucall '${cmd}' (KVM_EXIT_IO), got ${describe(exit)}`);
    return [];
  }
  t.is(exit.ucall.cmd, cmd, `ucall values: ${exit.ucall.values.join(', ')}`);
  return exit.ucall.values;
}

/** One line describing an exit, for assertion messages. */
export function describe(exit: KvmExit): string {
  switch (exit.reason) {
    case KVM_EXIT_IO: return `ucall ${exit.ucall.cmd} [${exit.ucall.values.join(', ')}]`;
    case KVM_EXIT_MMIO: return `mmio ${exit.mmio.isWrite ? 'write' : 'read'} len ${exit.mmio.len} at 0x${exit.mmio.physAddr.toString(16)}`;
    default: return `exit reason ${exit.reason}${'memoryFault' in exit ? ` ${JSON.stringify(exit.memoryFault)}` : ''}`;
  }
}

/** Completes an MMIO read: the value, little-endian, into mmio.data. */
export function completeMmioRead(data: Uint8Array, value: bigint): void {
  new DataView(data.buffer, data.byteOffset, 8).setBigUint64(0, value, true);
}

/** The little-endian u64 in `bytes` at `off`. */
export function u64(bytes: Uint8Array, off = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(off, true);
}

/** 8 little-endian bytes of `v`. */
export function le64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

/** Resolves to `p`, or rejects after `ms` with a message naming `what`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (yielding the event loop) until `cond` holds; throws after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(1);
  }
}

/** Bit numbers set in a little-endian dirty bitmap. */
export function bitsSet(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bitmap.length * 8; i++) if (bitmap[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
}

/** A little-endian bitmap of `nbits` (rounded up to 64) with `bits` set. */
export function bitmapOf(nbits: number, bits: number[]): Uint8Array {
  const b = new Uint8Array(Math.ceil(nbits / 64) * 8);
  for (const i of bits) b[i >> 3] |= 1 << (i & 7);
  return b;
}
