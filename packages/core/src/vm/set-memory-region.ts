/**
 * KVM_SET_USER_MEMORY_REGION: kvm_set_memory_region's checks in the kernel's order, then
 * kvm_set_memslot's steps (invalidate, prepare, the change, commit). Rules: docs/memslot-rules.md.
 */
import { check, KvmError } from '../errors.js';
import type { Memslot } from '../memslots/memslot.js';
import type { MemslotStore } from '../memslots/store.js';
import type { DirtyArena } from '../dirty/dirty-arena.js';
import type { KvmMmu } from '../mmu/mmu.js';
import {
  KVM_CAP_MEMORY_FAULT_NOWAIT, KVM_CAP_PCI_HOLE_MEM, KVM_CAP_READONLY_MEM, KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_MAX_NR_PAGES,
  KVM_MEM_PCI_HOLE, KVM_MEM_READONLY, KVM_MEM_SLOTS_NUM, KVM_USER_MEM_SLOTS, PAGE_SHIFT, PAGE_SIZE, TASK_SIZE_MAX,
} from '../uapi.js';
import { hex } from '../host/host-memory.js';

/** struct kvm_userspace_memory_region. */
export interface UserspaceMemoryRegion {
  /** (asId << 16) | id */
  slot: number;
  flags: number;
  guestPhysAddr: number | bigint;
  memorySize: number | bigint;
  userspaceAddr: number | bigint;
}

/** enum kvm_mr_change. */
export type MrChange = 'create' | 'delete' | 'move' | 'flags_only';

/** What kvm_set_memory_region needs from the VM. */
export interface SetMemoryRegionContext {
  store: MemslotStore;
  dirty: DirtyArena;
  mmu: KvmMmu;
  nrAs: number;
  disabledCaps: ReadonlySet<number>;
  manualDirtyLogProtect: number;
  /** kvm_mmu_max_gfn(): the highest gfn the host's physical address width allows. */
  maxGfn: number;
  /** kvm->nr_memslot_pages, updated on commit. */
  nrMemslotPages: number;
  /** kvm->nr_memslots_dirty_logging, updated on commit. */
  nrMemslotsDirtyLogging: number;
}

const U32_MAX = 2 ** 32 - 1;
const U64_MAX = (1n << 64n) - 1n;

function u32(name: string, v: unknown): number {
  check(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= U32_MAX, 'EINVAL',
    () => `${name} must be a u32 integer (got ${String(v)})`);
  return v;
}

function u64(name: string, v: unknown): bigint {
  const ok = (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n && v <= U64_MAX);
  check(ok, 'EINVAL', () => `${name} must be a u64 integer, as a safe-integer number or a bigint (got ${String(v)})`);
  return BigInt(v as number | bigint);
}

/** The flags this VM accepts (check_memory_region_flags). */
export function validFlags(disabled: ReadonlySet<number>): number {
  let valid = KVM_MEM_LOG_DIRTY_PAGES;
  if (!disabled.has(KVM_CAP_READONLY_MEM)) valid |= KVM_MEM_READONLY;
  if (!disabled.has(KVM_CAP_PCI_HOLE_MEM)) valid |= KVM_MEM_PCI_HOLE;
  if (!disabled.has(KVM_CAP_MEMORY_FAULT_NOWAIT)) valid |= KVM_MEM_ABSENT_MAPPING_FAULT;
  return valid;
}

/** kvm_dirty_log_manual_protect_and_init_set. */
function initiallySet(manual: number): boolean {
  const both = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
  return (manual & both) === both;
}

/** kvm_vm_ioctl_set_memory_region + kvm_set_memory_region: validate, classify, apply. */
export function setMemoryRegion(vm: SetMemoryRegionContext, region: UserspaceMemoryRegion): MrChange | 'none' {
  check(typeof region === 'object' && region !== null, 'EINVAL', 'region must be an object');
  const slot = u32('slot', region.slot);
  const flags = u32('flags', region.flags);
  const gpa = u64('guestPhysAddr', region.guestPhysAddr);
  const size = u64('memorySize', region.memorySize);
  const uaddr = u64('userspaceAddr', region.userspaceAddr);
  const asId = slot >>> 16;
  const id = slot & 0xffff;

  // kvm_vm_ioctl_set_memory_region
  check(id < KVM_USER_MEM_SLOTS, 'EINVAL', () => `slot id ${id} (slot & 0xffff) must be < KVM_USER_MEM_SLOTS (${KVM_USER_MEM_SLOTS})`);

  // check_memory_region_flags
  const valid = validFlags(vm.disabledCaps);
  check((flags & ~valid) === 0, 'EINVAL', () => `flags 0x${flags.toString(16)} has bits outside the valid set 0x${valid.toString(16)}`);

  check((size & BigInt(PAGE_SIZE - 1)) === 0n, 'EINVAL', () => `memorySize ${hex(size)} is not a multiple of PAGE_SIZE`);
  check((gpa & BigInt(PAGE_SIZE - 1)) === 0n, 'EINVAL', () => `guestPhysAddr ${hex(gpa)} is not page aligned`);
  const pciHole = (flags & KVM_MEM_PCI_HOLE) !== 0;
  if (pciHole) {
    // Seed 003 (v2 2/3): placed after the gpa alignment check; the uaddr checks do not apply.
    check((flags & (KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_ABSENT_MAPPING_FAULT)) === 0, 'EINVAL',
      'KVM_MEM_PCI_HOLE cannot be combined with KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES or KVM_MEM_ABSENT_MAPPING_FAULT');
    check(uaddr === 0n, 'EINVAL', () => `KVM_MEM_PCI_HOLE requires userspaceAddr == 0 (got ${hex(uaddr)})`);
  } else {
    check((uaddr & BigInt(PAGE_SIZE - 1)) === 0n, 'EINVAL', () => `userspaceAddr ${hex(uaddr)} is not page aligned`);
    check(uaddr + size <= BigInt(TASK_SIZE_MAX), 'EINVAL',
      () => `access_ok: userspaceAddr + memorySize (${hex(uaddr + size)}) is past TASK_SIZE_MAX (${hex(TASK_SIZE_MAX)})`);
  }
  check(asId < vm.nrAs && id < KVM_MEM_SLOTS_NUM, 'EINVAL',
    () => `address space ${asId} (slot >> 16) must be < ${vm.nrAs}, the VM's address-space count`);
  check(gpa + size <= U64_MAX, 'EINVAL', () => `guestPhysAddr + memorySize wraps past 2^64`);
  const npagesBig = size >> BigInt(PAGE_SHIFT);
  check(npagesBig <= BigInt(KVM_MEM_MAX_NR_PAGES), 'EINVAL',
    () => `memorySize is ${npagesBig} pages, more than KVM_MEM_MAX_NR_PAGES (${KVM_MEM_MAX_NR_PAGES})`);
  const npages = Number(npagesBig);
  const baseGfn = Number(gpa >> BigInt(PAGE_SHIFT));

  const old = vm.store.idToMemslot(asId, id);
  if (npages === 0) {
    check(old !== undefined, 'EINVAL', () => `cannot delete slot ${id} of address space ${asId}: it does not exist`);
    if (vm.nrMemslotPages < old.npages) throw new KvmError('EIO', 'nr_memslot_pages underflow');
    setMemslot(vm, old, null, 'delete');
    return 'delete';
  }

  const fresh: Memslot = { id, asId, baseGfn, npages, userspaceAddr: Number(uaddr), flags, dirtyBitmap: -1, ref: -1 };
  let change: MrChange;
  if (!old) {
    change = 'create';
  } else {
    check(fresh.userspaceAddr === old.userspaceAddr, 'EINVAL',
      () => `slot ${id} exists: userspaceAddr cannot change (${hex(old.userspaceAddr)} -> ${hex(fresh.userspaceAddr)})`);
    check(npages === old.npages, 'EINVAL', () => `slot ${id} exists: it cannot be resized (${old.npages} -> ${npages} pages)`);
    check(((flags ^ old.flags) & KVM_MEM_READONLY) === 0, 'EINVAL', () => `slot ${id} exists: KVM_MEM_READONLY cannot be toggled`);
    check(((flags ^ old.flags) & KVM_MEM_PCI_HOLE) === 0, 'EINVAL', () => `slot ${id} exists: KVM_MEM_PCI_HOLE cannot be toggled`);
    if (baseGfn !== old.baseGfn) change = 'move';
    else if (flags !== old.flags) change = 'flags_only';
    else return 'none';
  }
  if (change === 'create' || change === 'move') {
    check(!vm.store.overlaps(asId, id, baseGfn, baseGfn + npages), 'EEXIST',
      () => `gfns [${hex(baseGfn)}, ${hex(baseGfn + npages)}) overlap another slot of address space ${asId}`);
  }
  setMemslot(vm, old ?? null, fresh, change);
  return change;
}

/** kvm_set_memslot: the INVALID slot is published first for DELETE and MOVE. */
function setMemslot(vm: SetMemoryRegionContext, old: Memslot | null, fresh: Memslot | null, change: MrChange): void {
  let invalid: Memslot | null = null;
  if (change === 'delete' || change === 'move') {
    invalid = vm.store.invalidate(old!);
    vm.mmu.flushShadowMemslot(old!); // after the swap: new faults see the INVALID slot and exit as MMIO
  }
  try {
    prepareMemoryRegion(vm, old, fresh, change);
  } catch (e) {
    if (invalid) vm.store.restore(invalid, old!);
    throw e;
  }
  switch (change) {
    case 'create': vm.store.create(fresh!); break;
    case 'delete': vm.store.delete(old!, invalid!); break;
    case 'move': vm.store.move(old!, fresh!, invalid!); break;
    case 'flags_only': vm.store.updateFlags(old!, fresh!); break;
  }
  commitMemoryRegion(vm, old, fresh, change);
}

/** kvm_prepare_memory_region + x86 kvm_arch_prepare_memory_region. */
function prepareMemoryRegion(vm: SetMemoryRegionContext, old: Memslot | null, fresh: Memslot | null, change: MrChange): void {
  if (change === 'delete') return;
  const s = fresh!;
  let allocated = false;
  if (!(s.flags & KVM_MEM_LOG_DIRTY_PAGES)) {
    s.dirtyBitmap = -1;
  } else if (old && old.dirtyBitmap >= 0) {
    s.dirtyBitmap = old.dirtyBitmap;
  } else {
    const off = vm.dirty.alloc(s.npages, initiallySet(vm.manualDirtyLogProtect));
    if (off < 0) throw new KvmError('ENOMEM', `cannot allocate a dirty bitmap for ${s.npages} pages`);
    s.dirtyBitmap = off;
    allocated = true;
  }
  if ((change === 'create' || change === 'move') && s.baseGfn + s.npages - 1 > vm.maxGfn) {
    if (allocated) vm.dirty.release(s.dirtyBitmap, s.npages);
    throw new KvmError('EINVAL', `gfns up to ${hex(s.baseGfn + s.npages - 1)} exceed kvm_mmu_max_gfn() (${hex(vm.maxGfn)})`);
  }
}

/** kvm_commit_memory_region: account pages, free what the change made unreachable. */
function commitMemoryRegion(vm: SetMemoryRegionContext, old: Memslot | null, fresh: Memslot | null, change: MrChange): void {
  const oldFlags = old ? old.flags : 0;
  const newFlags = fresh ? fresh.flags : 0;
  if (change === 'delete') vm.nrMemslotPages -= old!.npages;
  else if (change === 'create') vm.nrMemslotPages += fresh!.npages;
  if ((oldFlags ^ newFlags) & KVM_MEM_LOG_DIRTY_PAGES) vm.nrMemslotsDirtyLogging += newFlags & KVM_MEM_LOG_DIRTY_PAGES ? 1 : -1;
  if (change === 'flags_only') vm.mmu.slotApplyFlags(old, fresh, initiallySet(vm.manualDirtyLogProtect));
  if (change === 'delete') {
    if (old!.dirtyBitmap >= 0) vm.dirty.release(old!.dirtyBitmap, old!.npages);
  } else if (change === 'move' || change === 'flags_only') {
    if (old!.dirtyBitmap >= 0 && fresh!.dirtyBitmap < 0) vm.dirty.release(old!.dirtyBitmap, old!.npages);
  }
}
