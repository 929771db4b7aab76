/**
 * KVM_SET_USER_MEMORY_REGION validation (reference §1, docs/api.md): one table row per rule, each run
 * against both memslot designs. Every rejected row also proves the VM is untouched.
 */
import test from 'ava';
import {
  KVM_CAP_MEMORY_FAULT_NOWAIT, KVM_CAP_PCI_HOLE_MEM, KVM_CAP_READONLY_MEM, KVM_MEM_ABSENT_MAPPING_FAULT,
  KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_MAX_NR_PAGES, KVM_MEM_PCI_HOLE, KVM_MEM_READONLY, KVM_MEMSLOT_INVALID,
  KVM_USER_MEM_SLOTS, PAGE_SIZE, TASK_SIZE_MAX,
  type KvmErrorCode, type MrChange, type UserspaceMemoryRegion, type VmOptions,
} from '@vcpu-rt/core';
import { IMPLS, newVm, region, snapshot, throwsKvm } from './_helpers.js';

const P = PAGE_SIZE;
/** A page-aligned host address; slots need not point at mapped memory. */
const UA = 0x4000_0000;
const U64 = 1n << 64n;

/** Slot 1 of AS 0: gfns [0x100, 0x110) at UA. */
const S1 = region({ slot: 1, guestPhysAddr: 0x100000, memorySize: 16 * P, userspaceAddr: UA });
/** Slot 2 of AS 0: gfns [0x200, 0x210) right after S1's host range. */
const S2 = region({ slot: 2, guestPhysAddr: 0x200000, memorySize: 16 * P, userspaceAddr: UA + 16 * P });
/** A fresh region that would be valid on its own (slot 5, gfns [0x400, 0x404)). */
const OK = region({ slot: 5, guestPhysAddr: 0x400000, memorySize: 4 * P, userspaceAddr: UA + 64 * P });

/** Messages (substrings / patterns) naming each rule. */
const M = {
  slot: 'KVM_USER_MEM_SLOTS',
  flags: 'outside the valid set',
  size: /memorySize .* is not a multiple of PAGE_SIZE/,
  gpa: /guestPhysAddr .* is not page aligned/,
  uaddr: /userspaceAddr .* is not page aligned/,
  accessOk: /access_ok.*TASK_SIZE_MAX/,
  as: /address space \d+ \(slot >> 16\) must be </,
  wrap: 'wraps past 2^64',
  pages: 'KVM_MEM_MAX_NR_PAGES',
  noSlot: 'does not exist',
  uaddrChange: 'userspaceAddr cannot change',
  resize: 'cannot be resized',
  roToggle: 'KVM_MEM_READONLY cannot be toggled',
  pciToggle: 'KVM_MEM_PCI_HOLE cannot be toggled',
  pciCombo: 'cannot be combined',
  pciUaddr: 'requires userspaceAddr == 0',
  overlap: 'overlap',
  maxGfn: 'kvm_mmu_max_gfn',
} as const;

interface RejectRow {
  name: string;
  vm?: VmOptions;
  setup?: UserspaceMemoryRegion[];
  region: UserspaceMemoryRegion;
  code: KvmErrorCode;
  message: string | RegExp;
}

/** A region with fields of the wrong type (the uAPI boundary must reject it, naming the field). */
function bad(fields: Record<string, unknown>): UserspaceMemoryRegion {
  return { ...OK, ...fields } as unknown as UserspaceMemoryRegion;
}

const SUPPORTED = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_PCI_HOLE | KVM_MEM_ABSENT_MAPPING_FAULT;
const ALL_SEED_CAPS_OFF: VmOptions = { disabledCaps: [KVM_CAP_READONLY_MEM, KVM_CAP_PCI_HOLE_MEM, KVM_CAP_MEMORY_FAULT_NOWAIT] };

/** Like the selftest's test_invalid_memory_region_flags: every unsupported bit 0..31 alone (slot 0, 2 MiB, uaddr NULL). */
const flagRows: RejectRow[] = [];
for (let bit = 0; bit < 32; bit++) {
  const flags = 2 ** bit; // not 1 << bit: 1 << 31 is negative in JS
  if (flags === KVM_MEM_LOG_DIRTY_PAGES) continue; // always valid
  const r = region({ slot: 0, flags, memorySize: 2 * 1024 * 1024, userspaceAddr: 0 });
  if ((SUPPORTED & flags) === 0) {
    flagRows.push({ name: `test_invalid_memory_region_flags: unsupported flag bit ${bit}${flags === KVM_MEMSLOT_INVALID ? ' (internal KVM_MEMSLOT_INVALID)' : ''}`, region: r, code: 'EINVAL', message: M.flags });
  } else {
    // Supported bits become unsupported when the kernel lacks their capability.
    flagRows.push({ name: `flag bit ${bit} on a VM without its capability (READONLY_MEM, PCI_HOLE_MEM, MEMORY_FAULT_NOWAIT disabled)`, vm: ALL_SEED_CAPS_OFF, region: r, code: 'EINVAL', message: M.flags });
  }
}

const rejectRows: RejectRow[] = [
  ...flagRows,
  { name: 'LOG_DIRTY_PAGES together with an unsupported bit', region: { ...OK, flags: KVM_MEM_LOG_DIRTY_PAGES | (1 << 5) }, code: 'EINVAL', message: M.flags },
  { name: 'READONLY when KVM_CAP_READONLY_MEM is disabled', vm: { disabledCaps: [KVM_CAP_READONLY_MEM] }, region: { ...OK, flags: KVM_MEM_READONLY }, code: 'EINVAL', message: M.flags },
  { name: 'PCI_HOLE when KVM_CAP_PCI_HOLE_MEM is disabled', vm: { disabledCaps: [KVM_CAP_PCI_HOLE_MEM] }, region: { ...OK, flags: KVM_MEM_PCI_HOLE, userspaceAddr: 0 }, code: 'EINVAL', message: M.flags },
  { name: 'ABSENT_MAPPING_FAULT when KVM_CAP_MEMORY_FAULT_NOWAIT is disabled', vm: { disabledCaps: [KVM_CAP_MEMORY_FAULT_NOWAIT] }, region: { ...OK, flags: KVM_MEM_ABSENT_MAPPING_FAULT }, code: 'EINVAL', message: M.flags },

  // Slot id (kvm_vm_ioctl_set_memory_region).
  { name: 'slot id 32764 (== KVM_USER_MEM_SLOTS)', region: { ...OK, slot: KVM_USER_MEM_SLOTS }, code: 'EINVAL', message: M.slot },
  { name: 'slot id 32767 (KVM_MEM_SLOTS_NUM, an internal slot)', region: { ...OK, slot: 32767 }, code: 'EINVAL', message: M.slot },
  { name: 'slot id 0xffff', region: { ...OK, slot: 0xffff }, code: 'EINVAL', message: M.slot },
  { name: 'slot id 32764 in address space 1 of a 2-AS VM', vm: { addressSpaces: 2 }, region: { ...OK, slot: (1 << 16) | KVM_USER_MEM_SLOTS }, code: 'EINVAL', message: M.slot },
  { name: 'delete of slot id 32764', region: { ...OK, slot: KVM_USER_MEM_SLOTS, memorySize: 0 }, code: 'EINVAL', message: M.slot },

  // memory_size, guest_phys_addr, userspace_addr.
  { name: 'memorySize not a multiple of PAGE_SIZE (4097)', region: { ...OK, memorySize: P + 1 }, code: 'EINVAL', message: M.size },
  { name: 'memorySize 1', region: { ...OK, memorySize: 1 }, code: 'EINVAL', message: M.size },
  { name: 'memorySize 2^64-1 (bigint)', region: { ...OK, memorySize: U64 - 1n }, code: 'EINVAL', message: M.size },
  { name: 'guestPhysAddr not page aligned (0x400001)', region: { ...OK, guestPhysAddr: 0x400001 }, code: 'EINVAL', message: M.gpa },
  { name: 'guestPhysAddr not page aligned (0x400800)', region: { ...OK, guestPhysAddr: 0x400800 }, code: 'EINVAL', message: M.gpa },
  { name: 'userspaceAddr not page aligned', region: { ...OK, userspaceAddr: UA + 0x10 }, code: 'EINVAL', message: M.uaddr },
  { name: 'userspaceAddr + memorySize past TASK_SIZE_MAX (uaddr == TASK_SIZE_MAX)', region: { ...OK, userspaceAddr: TASK_SIZE_MAX }, code: 'EINVAL', message: M.accessOk },
  { name: 'userspaceAddr + memorySize past TASK_SIZE_MAX by one page', region: { ...OK, userspaceAddr: TASK_SIZE_MAX - 3 * P }, code: 'EINVAL', message: M.accessOk },
  { name: 'userspaceAddr non-canonical (2^63, bigint)', region: { ...OK, userspaceAddr: 1n << 63n }, code: 'EINVAL', message: M.accessOk },
  { name: 'userspaceAddr + memorySize wraps 2^64 (bigint)', region: { ...OK, userspaceAddr: U64 - BigInt(P), memorySize: 2 * P }, code: 'EINVAL', message: M.accessOk },

  // Address space.
  { name: '1-AS VM: address space 1', region: { ...OK, slot: (1 << 16) | 5 }, code: 'EINVAL', message: M.as },
  { name: '1-AS VM: address space 0xffff', region: { ...OK, slot: 0xffff0005 }, code: 'EINVAL', message: M.as },
  { name: '2-AS VM: address space 2', vm: { addressSpaces: 2 }, region: { ...OK, slot: (2 << 16) | 5 }, code: 'EINVAL', message: M.as },
  { name: '1-AS VM: delete in address space 1', region: { ...OK, slot: (1 << 16) | 1, memorySize: 0 }, setup: [S1], code: 'EINVAL', message: M.as },

  // gpa + size wrap, page count.
  { name: 'guestPhysAddr + memorySize == 2^64 wraps (bigint)', region: { ...OK, guestPhysAddr: U64 - BigInt(P), memorySize: P }, code: 'EINVAL', message: M.wrap },
  { name: 'guestPhysAddr + memorySize past 2^64 (bigint)', region: { ...OK, guestPhysAddr: U64 - (1n << 20n), memorySize: 1 << 21 }, code: 'EINVAL', message: M.wrap },
  { name: 'memorySize of 2^31 pages (KVM_MEM_MAX_NR_PAGES + 1)', region: { ...OK, guestPhysAddr: 0, userspaceAddr: 0, memorySize: 2 ** 31 * P }, code: 'EINVAL', message: M.pages },
  { name: 'memorySize of 2^32 pages', region: { ...OK, guestPhysAddr: 0, userspaceAddr: 0, memorySize: 2 ** 32 * P }, code: 'EINVAL', message: M.pages },

  // DELETE.
  { name: 'delete of a slot that does not exist', region: { ...OK, memorySize: 0 }, code: 'EINVAL', message: M.noSlot },
  { name: 'delete of a slot already deleted', setup: [S1, { ...S1, memorySize: 0 }], region: { ...S1, memorySize: 0 }, code: 'EINVAL', message: M.noSlot },
  { name: '2-AS VM: delete in AS 1 of an id that exists only in AS 0', vm: { addressSpaces: 2 }, setup: [S1], region: { ...S1, slot: (1 << 16) | 1, memorySize: 0 }, code: 'EINVAL', message: M.noSlot },

  // Modify an existing slot.
  { name: 'resize (grow) of an existing slot', setup: [S1], region: { ...S1, memorySize: 17 * P }, code: 'EINVAL', message: M.resize },
  { name: 'resize (shrink) of an existing slot', setup: [S1], region: { ...S1, memorySize: 15 * P }, code: 'EINVAL', message: M.resize },
  { name: 'move + resize of an existing slot', setup: [S1], region: { ...S1, guestPhysAddr: 0x800000, memorySize: 8 * P }, code: 'EINVAL', message: M.resize },
  { name: 'userspaceAddr change of an existing slot', setup: [S1], region: { ...S1, userspaceAddr: UA + 256 * P }, code: 'EINVAL', message: M.uaddrChange },
  { name: 'READONLY added to an existing slot', setup: [S1], region: { ...S1, flags: KVM_MEM_READONLY }, code: 'EINVAL', message: M.roToggle },
  { name: 'READONLY removed from an existing slot', setup: [{ ...S1, flags: KVM_MEM_READONLY }], region: { ...S1, flags: 0 }, code: 'EINVAL', message: M.roToggle },
  { name: 'READONLY added together with a move', setup: [S1], region: { ...S1, guestPhysAddr: 0x800000, flags: KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES }, code: 'EINVAL', message: M.roToggle },

  // KVM_MEM_PCI_HOLE (seeds 000/003).
  { name: 'PCI_HOLE with userspaceAddr != 0', region: { ...OK, flags: KVM_MEM_PCI_HOLE }, code: 'EINVAL', message: M.pciUaddr },
  { name: 'PCI_HOLE | READONLY', region: { ...OK, flags: KVM_MEM_PCI_HOLE | KVM_MEM_READONLY, userspaceAddr: 0 }, code: 'EINVAL', message: M.pciCombo },
  { name: 'PCI_HOLE | LOG_DIRTY_PAGES', region: { ...OK, flags: KVM_MEM_PCI_HOLE | KVM_MEM_LOG_DIRTY_PAGES, userspaceAddr: 0 }, code: 'EINVAL', message: M.pciCombo },
  { name: 'PCI_HOLE | ABSENT_MAPPING_FAULT', region: { ...OK, flags: KVM_MEM_PCI_HOLE | KVM_MEM_ABSENT_MAPPING_FAULT, userspaceAddr: 0 }, code: 'EINVAL', message: M.pciCombo },
  { name: 'PCI_HOLE added to an existing slot (uaddr 0)', setup: [{ ...S1, userspaceAddr: 0 }], region: { ...S1, userspaceAddr: 0, flags: KVM_MEM_PCI_HOLE }, code: 'EINVAL', message: M.pciToggle },
  { name: 'PCI_HOLE added to an existing slot together with a move', setup: [{ ...S1, userspaceAddr: 0 }], region: { ...S1, guestPhysAddr: 0x800000, userspaceAddr: 0, flags: KVM_MEM_PCI_HOLE }, code: 'EINVAL', message: M.pciToggle },
  { name: 'PCI_HOLE removed from an existing slot', setup: [{ ...S1, userspaceAddr: 0, flags: KVM_MEM_PCI_HOLE }], region: { ...S1, userspaceAddr: 0, flags: 0 }, code: 'EINVAL', message: M.pciToggle },

  // Overlap (per address space), CREATE and MOVE.
  { name: 'CREATE over the identical gfn range', setup: [S1], region: { ...S1, slot: 5, userspaceAddr: UA + 64 * P }, code: 'EEXIST', message: M.overlap },
  { name: 'CREATE overlapping the first page of a slot', setup: [S1], region: { ...OK, guestPhysAddr: 0xf0000, memorySize: 17 * P }, code: 'EEXIST', message: M.overlap },
  { name: 'CREATE overlapping the last page of a slot', setup: [S1], region: { ...OK, guestPhysAddr: 0x10f000, memorySize: 4 * P }, code: 'EEXIST', message: M.overlap },
  { name: 'CREATE inside a slot', setup: [S1], region: { ...OK, guestPhysAddr: 0x104000, memorySize: P }, code: 'EEXIST', message: M.overlap },
  { name: 'CREATE covering a slot', setup: [S1], region: { ...OK, guestPhysAddr: 0, memorySize: 0x400000 }, code: 'EEXIST', message: M.overlap },
  { name: 'CREATE covering two slots', setup: [S1, S2], region: { ...OK, guestPhysAddr: 0x10f000, memorySize: 0x100000 }, code: 'EEXIST', message: M.overlap },
  { name: 'MOVE onto another slot', setup: [S1, S2], region: { ...S2, guestPhysAddr: 0x100000 }, code: 'EEXIST', message: M.overlap },
  { name: 'MOVE partly onto another slot', setup: [S1, S2], region: { ...S2, guestPhysAddr: 0x10f000 }, code: 'EEXIST', message: M.overlap },
  { name: '2-AS VM: CREATE overlapping a slot of AS 1 in AS 1', vm: { addressSpaces: 2 }, setup: [{ ...S1, slot: (1 << 16) | 1 }], region: { ...OK, slot: (1 << 16) | 5, guestPhysAddr: 0x108000 }, code: 'EEXIST', message: M.overlap },

  // kvm_mmu_max_gfn (x86 kvm_arch_prepare_memory_region).
  { name: 'CREATE ending one page past kvm_mmu_max_gfn (physAddrBits 46: gfn 2^34)', region: { ...OK, guestPhysAddr: 2 ** 46 - P, memorySize: 2 * P }, code: 'EINVAL', message: M.maxGfn },
  { name: 'CREATE at gpa 2^46 (physAddrBits 46)', region: { ...OK, guestPhysAddr: 2 ** 46, memorySize: P }, code: 'EINVAL', message: M.maxGfn },
  { name: 'CREATE at gpa 2^36 with physAddrBits 36', vm: { physAddrBits: 36 }, region: { ...OK, guestPhysAddr: 2 ** 36, memorySize: P }, code: 'EINVAL', message: M.maxGfn },
  { name: 'CREATE at a bigint gpa far past kvm_mmu_max_gfn (2^60)', region: { ...OK, guestPhysAddr: 1n << 60n, memorySize: P }, code: 'EINVAL', message: M.maxGfn },

  // Field types: EINVAL naming the field.
  { name: 'type: region is null', region: null as unknown as UserspaceMemoryRegion, code: 'EINVAL', message: 'region' },
  ...([
    ['slot', -1], ['slot', 1.5], ['slot', 2 ** 32], ['slot', '1'], ['slot', undefined], ['slot', 1n],
    ['flags', -1], ['flags', 0.5], ['flags', 2 ** 32], ['flags', 1 << 31], ['flags', '0'],
    ['guestPhysAddr', -P], ['guestPhysAddr', -1n], ['guestPhysAddr', P + 0.5], ['guestPhysAddr', 2 ** 53], ['guestPhysAddr', U64], ['guestPhysAddr', '0'], ['guestPhysAddr', NaN],
    ['memorySize', -P], ['memorySize', -1n], ['memorySize', 1.5], ['memorySize', 2 ** 60], ['memorySize', U64 + BigInt(P)], ['memorySize', null],
    ['userspaceAddr', -P], ['userspaceAddr', -1n], ['userspaceAddr', 0.25], ['userspaceAddr', Number.MAX_VALUE], ['userspaceAddr', U64], ['userspaceAddr', Infinity],
  ] as Array<[string, unknown]>).map(([field, v]): RejectRow => ({
    name: `type: ${field} = ${typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? JSON.stringify(v) : String(v)}`,
    region: bad({ [field]: v }), code: 'EINVAL', message: new RegExp(`^EINVAL: ${field} must be`),
  })),

  // Order of checks: a request breaking two rules reports the earlier one.
  { name: 'order: slot 32764 + unaligned gpa -> slot rule', region: { ...OK, slot: KVM_USER_MEM_SLOTS, guestPhysAddr: 0x400001 }, code: 'EINVAL', message: M.slot },
  { name: 'order: slot 32764 + READONLY without KVM_CAP_READONLY_MEM -> slot rule', vm: { disabledCaps: [KVM_CAP_READONLY_MEM] }, region: { ...OK, slot: KVM_USER_MEM_SLOTS, flags: KVM_MEM_READONLY }, code: 'EINVAL', message: M.slot },
  { name: 'order: slot 32764 + address space 3 -> slot rule (checked in the ioctl wrapper)', region: { ...OK, slot: (3 << 16) | KVM_USER_MEM_SLOTS }, code: 'EINVAL', message: M.slot },
  { name: 'order: unsupported flag + unaligned size -> flags rule', region: { ...OK, flags: 1 << 7, memorySize: 3 }, code: 'EINVAL', message: M.flags },
  { name: 'order: unsupported flag + delete of a missing slot -> flags rule', region: { ...OK, flags: 1 << 9, memorySize: 0 }, code: 'EINVAL', message: M.flags },
  { name: 'order: unaligned size + unaligned gpa -> size rule', region: { ...OK, memorySize: P + 8, guestPhysAddr: 0x400008 }, code: 'EINVAL', message: M.size },
  { name: 'order: unaligned gpa + unaligned uaddr -> gpa rule', region: { ...OK, guestPhysAddr: 0x400008, userspaceAddr: UA + 8 }, code: 'EINVAL', message: M.gpa },
  { name: 'order: unaligned gpa + PCI_HOLE with uaddr != 0 -> gpa rule', region: { ...OK, guestPhysAddr: 0x400008, flags: KVM_MEM_PCI_HOLE }, code: 'EINVAL', message: M.gpa },
  { name: 'order: PCI_HOLE | READONLY with uaddr != 0 -> exclusivity rule', region: { ...OK, flags: KVM_MEM_PCI_HOLE | KVM_MEM_READONLY }, code: 'EINVAL', message: M.pciCombo },
  { name: 'order: PCI_HOLE with unaligned uaddr -> uaddr == 0 rule (uaddr alignment is skipped)', region: { ...OK, flags: KVM_MEM_PCI_HOLE, userspaceAddr: 0x123 }, code: 'EINVAL', message: M.pciUaddr },
  { name: 'order: PCI_HOLE with uaddr != 0 + address space 1 -> uaddr == 0 rule', region: { ...OK, slot: (1 << 16) | 5, flags: KVM_MEM_PCI_HOLE }, code: 'EINVAL', message: M.pciUaddr },
  { name: 'order: unaligned uaddr + address space 1 -> uaddr rule', region: { ...OK, slot: (1 << 16) | 5, userspaceAddr: UA + 8 }, code: 'EINVAL', message: M.uaddr },
  { name: 'order: access_ok + address space 1 -> access_ok rule', region: { ...OK, slot: (1 << 16) | 5, userspaceAddr: TASK_SIZE_MAX }, code: 'EINVAL', message: M.accessOk },
  { name: 'order: address space 1 + gpa wrap -> address-space rule', region: { ...OK, slot: (1 << 16) | 5, guestPhysAddr: U64 - BigInt(P) }, code: 'EINVAL', message: M.as },
  { name: 'order: gpa wrap + more than KVM_MEM_MAX_NR_PAGES -> wrap rule', region: { ...OK, guestPhysAddr: U64 - (1n << 43n), memorySize: 2 ** 43, userspaceAddr: 0 }, code: 'EINVAL', message: M.wrap },
  { name: 'order: more than KVM_MEM_MAX_NR_PAGES + resize of an existing slot -> page-count rule', setup: [{ ...S1, userspaceAddr: 0 }], region: { ...S1, userspaceAddr: 0, memorySize: 2 ** 43 }, code: 'EINVAL', message: M.pages },
  { name: 'order: delete of a missing slot with unaligned gpa -> gpa rule', region: { ...OK, memorySize: 0, guestPhysAddr: 0x400008 }, code: 'EINVAL', message: M.gpa },
  { name: 'order: delete of a missing slot with unaligned uaddr -> uaddr rule', region: { ...OK, memorySize: 0, userspaceAddr: UA + 8 }, code: 'EINVAL', message: M.uaddr },
  { name: 'order: delete of an existing slot with unaligned uaddr -> uaddr rule (checks precede DELETE)', setup: [S1], region: { ...S1, memorySize: 0, userspaceAddr: UA + 8 }, code: 'EINVAL', message: M.uaddr },
  { name: 'order: delete in address space 1 of a 1-AS VM -> address-space rule', region: { ...OK, slot: (1 << 16) | 5, memorySize: 0 }, code: 'EINVAL', message: M.as },
  { name: 'order: resize that would overlap -> resize rule (EINVAL, not EEXIST)', setup: [S1, S2], region: { ...S1, memorySize: 0x100000 + 16 * P }, code: 'EINVAL', message: M.resize },
  { name: 'order: uaddr change + move onto another slot -> uaddr rule (EINVAL, not EEXIST)', setup: [S1, S2], region: { ...S2, guestPhysAddr: 0x100000, userspaceAddr: UA + 512 * P }, code: 'EINVAL', message: M.uaddrChange },
  { name: 'order: READONLY toggle + move onto another slot -> READONLY rule (EINVAL, not EEXIST)', setup: [S1, S2], region: { ...S2, guestPhysAddr: 0x100000, flags: KVM_MEM_READONLY }, code: 'EINVAL', message: M.roToggle },
  { name: 'order: CREATE overlapping and past kvm_mmu_max_gfn -> EEXIST (overlap precedes arch prepare)', vm: { physAddrBits: 36 }, setup: [{ ...S1, guestPhysAddr: 2 ** 36 - 2 * P, memorySize: P }], region: { ...OK, guestPhysAddr: 2 ** 36 - 2 * P, memorySize: 4 * P }, code: 'EEXIST', message: M.overlap },
];

for (const impl of IMPLS) {
  for (const row of rejectRows) {
    test(`${impl}: rejects ${row.name} with ${row.code}, VM unchanged`, (t) => {
      const vm = newVm(t, { memslots: impl, ...row.vm });
      for (const s of row.setup ?? []) vm.setUserMemoryRegion(s);
      const before = snapshot(vm);
      throwsKvm(t, () => vm.setUserMemoryRegion(row.region), row.code, row.message);
      t.deepEqual(snapshot(vm), before, 'a rejected call must leave every address space as it was');
    });
  }
}

interface AcceptRow {
  name: string;
  vm?: VmOptions;
  setup?: UserspaceMemoryRegion[];
  region: UserspaceMemoryRegion;
  change: MrChange | 'none';
}

const acceptRows: AcceptRow[] = [
  { name: 'slot id 32763 (KVM_USER_MEM_SLOTS - 1)', region: { ...OK, slot: KVM_USER_MEM_SLOTS - 1 }, change: 'create' },
  { name: 'userspaceAddr 0 (slots need not point at mapped memory)', region: { ...OK, userspaceAddr: 0 }, change: 'create' },
  { name: 'userspaceAddr + memorySize == TASK_SIZE_MAX', region: { ...OK, userspaceAddr: TASK_SIZE_MAX - 4 * P }, change: 'create' },
  { name: 'exactly KVM_MEM_MAX_NR_PAGES pages', region: { ...OK, guestPhysAddr: 0, userspaceAddr: 0, memorySize: KVM_MEM_MAX_NR_PAGES * P }, change: 'create' },
  { name: 'last gfn == kvm_mmu_max_gfn (physAddrBits 46)', region: { ...OK, guestPhysAddr: 2 ** 46 - P, memorySize: P }, change: 'create' },
  { name: 'last gfn == kvm_mmu_max_gfn (physAddrBits 48, the 4-level TDP maximum, bigint gpa)', vm: { physAddrBits: 48 }, region: { ...OK, guestPhysAddr: (1n << 48n) - BigInt(2 * P), memorySize: 2n * BigInt(P) }, change: 'create' },
  { name: 'bigint fields', region: { slot: 5, flags: 0, guestPhysAddr: 0x400000n, memorySize: 4n * BigInt(P), userspaceAddr: BigInt(UA) }, change: 'create' },
  { name: 'every supported flag but PCI_HOLE together', region: { ...OK, flags: KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_ABSENT_MAPPING_FAULT }, change: 'create' },
  { name: 'PCI_HOLE with userspaceAddr 0', region: { ...OK, flags: KVM_MEM_PCI_HOLE, userspaceAddr: 0 }, change: 'create' },
  { name: 'PCI_HOLE with userspaceAddr 0n (bigint)', region: { ...OK, flags: KVM_MEM_PCI_HOLE, userspaceAddr: 0n }, change: 'create' },
  { name: 'MOVE of a PCI_HOLE slot', setup: [{ ...S1, flags: KVM_MEM_PCI_HOLE, userspaceAddr: 0 }], region: { ...S1, flags: KVM_MEM_PCI_HOLE, userspaceAddr: 0, guestPhysAddr: 0x800000 }, change: 'move' },
  { name: 'delete of a PCI_HOLE slot', setup: [{ ...S1, flags: KVM_MEM_PCI_HOLE, userspaceAddr: 0 }], region: { ...S1, memorySize: 0, userspaceAddr: 0 }, change: 'delete' },
  { name: 'ABSENT_MAPPING_FAULT on a new slot', region: { ...OK, flags: KVM_MEM_ABSENT_MAPPING_FAULT }, change: 'create' },
  { name: 'ABSENT_MAPPING_FAULT added to an existing slot (FLAGS_ONLY)', setup: [S1], region: { ...S1, flags: KVM_MEM_ABSENT_MAPPING_FAULT }, change: 'flags_only' },
  { name: 'LOG_DIRTY_PAGES added to an existing slot (FLAGS_ONLY)', setup: [S1], region: { ...S1, flags: KVM_MEM_LOG_DIRTY_PAGES }, change: 'flags_only' },
  { name: 'LOG_DIRTY_PAGES removed from a READONLY slot (FLAGS_ONLY)', setup: [{ ...S1, flags: KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES }], region: { ...S1, flags: KVM_MEM_READONLY }, change: 'flags_only' },
  { name: 'MOVE of a READONLY slot that keeps READONLY', setup: [{ ...S1, flags: KVM_MEM_READONLY }], region: { ...S1, flags: KVM_MEM_READONLY, guestPhysAddr: 0x800000 }, change: 'move' },
  { name: 'MOVE with a flag change is a MOVE', setup: [S1], region: { ...S1, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: 0x800000 }, change: 'move' },
  { name: 'MOVE overlapping its own old range', setup: [S1], region: { ...S1, guestPhysAddr: 0x108000 }, change: 'move' },
  { name: 'MOVE down overlapping its own old range', setup: [S1], region: { ...S1, guestPhysAddr: 0xff000 }, change: 'move' },
  { name: 'CREATE adjacent below and above a slot (gfn ranges are half-open)', setup: [S1, { ...OK, slot: 6, guestPhysAddr: 0xf0000, memorySize: 16 * P }], region: { ...OK, guestPhysAddr: 0x110000 }, change: 'create' },
  { name: 'CREATE in a gap between two slots', setup: [S1, S2], region: { ...OK, guestPhysAddr: 0x110000, memorySize: 0x200000 - 0x110000 }, change: 'create' },
  { name: 'two slots sharing the same host range (hva ranges may overlap)', setup: [S1], region: { ...S1, slot: 5, guestPhysAddr: 0x800000 }, change: 'create' },
  { name: '2-AS VM: a slot in address space 1', vm: { addressSpaces: 2 }, region: { ...OK, slot: (1 << 16) | 5 }, change: 'create' },
  { name: '2-AS VM: the same id and gfn range in AS 1 as an AS 0 slot (overlap is per address space)', vm: { addressSpaces: 2 }, setup: [S1], region: { ...S1, slot: (1 << 16) | 1 }, change: 'create' },
  { name: '2-AS VM: another id over an AS 0 slot\'s range in AS 1', vm: { addressSpaces: 2 }, setup: [S1], region: { ...S1, slot: (1 << 16) | 9, guestPhysAddr: 0x108000 }, change: 'create' },
  { name: '2-AS VM: MOVE in AS 0 onto the range of an AS 1 slot', vm: { addressSpaces: 2 }, setup: [S1, { ...S2, slot: (1 << 16) | 2 }], region: { ...S1, guestPhysAddr: 0x200000 }, change: 'move' },
  { name: 'delete compares neither gpa nor uaddr with the slot', setup: [S1], region: { ...S1, memorySize: 0, guestPhysAddr: 0x900000, userspaceAddr: UA + 1024 * P }, change: 'delete' },
  { name: 'delete with READONLY in flags of a read-write slot', setup: [S1], region: { ...S1, memorySize: 0, flags: KVM_MEM_READONLY }, change: 'delete' },
  { name: '2-AS VM: delete in AS 1 leaves AS 0 alone', vm: { addressSpaces: 2 }, setup: [S1, { ...S1, slot: (1 << 16) | 1 }], region: { ...S1, slot: (1 << 16) | 1, memorySize: 0 }, change: 'delete' },
  { name: 'recreate after delete', setup: [S1, { ...S1, memorySize: 0 }], region: S1, change: 'create' },
  { name: 'the identical region again is a no-op', setup: [S1], region: S1, change: 'none' },
  { name: 'the identical region with bigint fields is a no-op', setup: [S1], region: { slot: 1, flags: 0, guestPhysAddr: 0x100000n, memorySize: BigInt(16 * P), userspaceAddr: BigInt(UA) }, change: 'none' },
];

function expectedInfo(r: UserspaceMemoryRegion) {
  return {
    id: r.slot & 0xffff,
    asId: r.slot >>> 16,
    baseGfn: Number(BigInt(r.guestPhysAddr) / BigInt(P)),
    npages: Number(BigInt(r.memorySize) / BigInt(P)),
    userspaceAddr: Number(r.userspaceAddr),
    flags: r.flags,
  };
}

for (const impl of IMPLS) {
  for (const row of acceptRows) {
    test(`${impl}: accepts ${row.name} as ${row.change}`, (t) => {
      const vm = newVm(t, { memslots: impl, ...row.vm });
      for (const s of row.setup ?? []) vm.setUserMemoryRegion(s);
      const before = snapshot(vm);
      const asId = row.region.slot >>> 16;
      const id = row.region.slot & 0xffff;
      t.is(vm.setUserMemoryRegion(row.region), row.change);
      const after = snapshot(vm);
      const others = (s: typeof before) => s.slots[asId].filter((m) => m.id !== id);
      t.deepEqual(others(after), others(before), 'other slots of the address space are untouched');
      for (let as = 0; as < vm.addressSpaces; as++) {
        if (as !== asId) {
          t.deepEqual(after.slots[as], before.slots[as], `address space ${as} is untouched`);
          t.is(after.generations[as], before.generations[as], `generation of address space ${as} is untouched`);
        }
      }
      const mine = after.slots[asId].filter((m) => m.id === id);
      if (row.change === 'delete') t.deepEqual(mine, []);
      else if (row.change === 'none') t.deepEqual(after, before);
      else t.deepEqual(mine, [expectedInfo(row.region)]);
      // Slots are listed in ascending base gfn.
      const gfns = after.slots[asId].map((m) => m.baseGfn);
      t.deepEqual(gfns, [...gfns].sort((a, b) => a - b));
    });
  }
}
