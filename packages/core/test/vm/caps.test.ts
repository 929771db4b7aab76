/**
 * KVM_CHECK_EXTENSION, KVM_ENABLE_CAP and disabledCaps (docs/api.md's constant table; kernel
 * kvm_vm_ioctl_enable_cap_generic; seed 002 for the memory-fault capabilities), and createVm options.
 */
import test from 'ava';
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_CAP_MEMORY_FAULT_INFO, KVM_CAP_MEMORY_FAULT_NOWAIT, KVM_CAP_MULTI_ADDRESS_SPACE,
  KVM_CAP_NR_MEMSLOTS, KVM_CAP_PCI_HOLE_MEM, KVM_CAP_READONLY_MEM, KVM_CAP_SYNC_MMU, KVM_CAP_USER_MEMORY,
  KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_DIRTY_LOG_INITIALLY_SET, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_PCI_HOLE, KVM_MEM_READONLY,
  KVM_MEMFAULT_REASON_ABSENT_MAPPING, KVM_MEMFAULT_REASON_UNKNOWN, PAGE_SIZE, KvmError,
  type VmOptions,
} from '@vcpu-rt/core';
import { IMPLS, newVm, region, theKvm, throwsKvm } from './_helpers.js';

const P = PAGE_SIZE;

test('docs/api.md constants have the kernel values', (t) => {
  t.is(KVM_CAP_NR_MEMSLOTS, 10);
  t.is(KVM_CAP_READONLY_MEM, 81);
  t.is(KVM_CAP_MULTI_ADDRESS_SPACE, 118);
  t.is(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 168);
  t.is(KVM_CAP_PCI_HOLE_MEM, 187);
  t.is(KVM_CAP_X86_MEMORY_FAULT_EXIT, 227);
  t.is(KVM_CAP_MEMORY_FAULT_NOWAIT, 228);
  t.is(KVM_CAP_MEMORY_FAULT_INFO, 232);
  t.is(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, 1);
  t.is(KVM_DIRTY_LOG_INITIALLY_SET, 2);
  t.is(KVM_MEMFAULT_REASON_UNKNOWN, 1);
  t.is(KVM_MEMFAULT_REASON_ABSENT_MAPPING, 2);
  t.is(KVM_MEM_LOG_DIRTY_PAGES, 1);
  t.is(KVM_MEM_READONLY, 2);
  t.is(KVM_MEM_PCI_HOLE, 4);
  t.is(KVM_MEM_ABSENT_MAPPING_FAULT, 8);
});

/** checkExtension values: [name, cap, on Kvm, on a 1-AS VM, on a 2-AS VM]. */
const CHECK_ROWS: Array<[string, number, number, number, number]> = [
  ['KVM_CAP_USER_MEMORY', KVM_CAP_USER_MEMORY, 1, 1, 1],
  ['KVM_CAP_SYNC_MMU', KVM_CAP_SYNC_MMU, 1, 1, 1],
  ['KVM_CAP_NR_MEMSLOTS', KVM_CAP_NR_MEMSLOTS, 32764, 32764, 32764],
  ['KVM_CAP_READONLY_MEM', KVM_CAP_READONLY_MEM, 1, 1, 1],
  ['KVM_CAP_MULTI_ADDRESS_SPACE', KVM_CAP_MULTI_ADDRESS_SPACE, 2, 1, 2],
  ['KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2', KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 3, 3, 3],
  ['KVM_CAP_PCI_HOLE_MEM', KVM_CAP_PCI_HOLE_MEM, 1, 1, 1],
  ['KVM_CAP_MEMORY_FAULT_NOWAIT', KVM_CAP_MEMORY_FAULT_NOWAIT, 1, 1, 1],
  ['KVM_CAP_MEMORY_FAULT_INFO', KVM_CAP_MEMORY_FAULT_INFO, 1, 1, 1],
  ['an unknown capability (9999)', 9999, 0, 0, 0],
  ['capability 0', 0, 0, 0, 0],
  ['a negative capability', -1, 0, 0, 0],
];

for (const [name, cap, onKvm] of CHECK_ROWS) {
  test(`Kvm.checkExtension(${name}) is ${onKvm}`, (t) => {
    t.is(theKvm().checkExtension(cap), onKvm);
  });
}

test('Kvm.checkExtension(KVM_CAP_X86_MEMORY_FAULT_EXIT) is non-zero and offers only UNKNOWN | ABSENT_MAPPING', (t) => {
  const v = theKvm().checkExtension(KVM_CAP_X86_MEMORY_FAULT_EXIT);
  t.not(v, 0);
  t.is(v & ~(KVM_MEMFAULT_REASON_UNKNOWN | KVM_MEMFAULT_REASON_ABSENT_MAPPING), 0);
});

for (const impl of IMPLS) {
  for (const [name, cap, , one, two] of CHECK_ROWS) {
    test(`${impl}: Vm.checkExtension(${name}) is ${one} on a 1-AS VM and ${two} on a 2-AS VM`, (t) => {
      t.is(newVm(t, { memslots: impl }).checkExtension(cap), one);
      t.is(newVm(t, { memslots: impl, addressSpaces: 2 }).checkExtension(cap), two);
    });
  }

  // --- enableCap ---------------------------------------------------------------------------------

  const ENABLE_OK: Array<[string, number, number[]]> = [
    ['MANUAL_DIRTY_LOG_PROTECT2 [PROTECT_ENABLE]', KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE]],
    ['MANUAL_DIRTY_LOG_PROTECT2 [PROTECT_ENABLE | INITIALLY_SET]', KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET]],
    ['MANUAL_DIRTY_LOG_PROTECT2 [0] (turns it off)', KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [0]],
    ['X86_MEMORY_FAULT_EXIT [0]', KVM_CAP_X86_MEMORY_FAULT_EXIT, [0]],
    ['X86_MEMORY_FAULT_EXIT [UNKNOWN]', KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_UNKNOWN]],
    ['X86_MEMORY_FAULT_EXIT [ABSENT_MAPPING]', KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]],
    ['X86_MEMORY_FAULT_EXIT [UNKNOWN | ABSENT_MAPPING]', KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_UNKNOWN | KVM_MEMFAULT_REASON_ABSENT_MAPPING]],
  ];
  for (const [name, cap, args] of ENABLE_OK) {
    test(`${impl}: enableCap ${name} succeeds`, (t) => {
      const vm = newVm(t, { memslots: impl });
      t.notThrows(() => vm.enableCap(cap, args));
    });
  }

  const ENABLE_BAD: Array<{ name: string; cap: number; args: number[]; message: string | RegExp; vm?: VmOptions }> = [
    { name: 'MANUAL_DIRTY_LOG_PROTECT2 [1 << 2] (unknown option)', cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args: [1 << 2], message: 'KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2' },
    { name: 'MANUAL_DIRTY_LOG_PROTECT2 [PROTECT_ENABLE | 1 << 5]', cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args: [1 | (1 << 5)], message: 'KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2' },
    { name: 'MANUAL_DIRTY_LOG_PROTECT2 [2 ** 31]', cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args: [2 ** 31], message: 'KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2' },
    // kvm_vm_ioctl_enable_cap_generic: INITIALLY_SET is allowed only together with PROTECT_ENABLE.
    { name: 'MANUAL_DIRTY_LOG_PROTECT2 [INITIALLY_SET] without PROTECT_ENABLE', cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args: [KVM_DIRTY_LOG_INITIALLY_SET], message: 'KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2' },
    { name: 'MANUAL_DIRTY_LOG_PROTECT2 [-1]', cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args: [-1], message: 'args' },
    { name: 'MANUAL_DIRTY_LOG_PROTECT2 [0.5]', cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args: [0.5], message: 'args' },
    // The seed's kvm_memfault_exit_flags_valid computed `reasons & !valid_flags`, which is always 0 and
    // accepted anything: 1 << 2 must be EINVAL here.
    { name: 'X86_MEMORY_FAULT_EXIT [1 << 2] (the seed\'s `!valid` bug must not be reproduced)', cap: KVM_CAP_X86_MEMORY_FAULT_EXIT, args: [1 << 2], message: 'KVM_CAP_X86_MEMORY_FAULT_EXIT' },
    { name: 'X86_MEMORY_FAULT_EXIT [UNKNOWN | ABSENT_MAPPING | 1 << 2]', cap: KVM_CAP_X86_MEMORY_FAULT_EXIT, args: [7], message: 'KVM_CAP_X86_MEMORY_FAULT_EXIT' },
    { name: 'X86_MEMORY_FAULT_EXIT [1 << 30]', cap: KVM_CAP_X86_MEMORY_FAULT_EXIT, args: [1 << 30], message: 'KVM_CAP_X86_MEMORY_FAULT_EXIT' },
    { name: 'X86_MEMORY_FAULT_EXIT [-1]', cap: KVM_CAP_X86_MEMORY_FAULT_EXIT, args: [-1], message: 'args' },
    { name: 'MEMORY_FAULT_NOWAIT (informational)', cap: KVM_CAP_MEMORY_FAULT_NOWAIT, args: [], message: 'informational' },
    { name: 'MEMORY_FAULT_NOWAIT [1] (informational)', cap: KVM_CAP_MEMORY_FAULT_NOWAIT, args: [1], message: 'informational' },
    { name: 'MEMORY_FAULT_INFO (informational)', cap: KVM_CAP_MEMORY_FAULT_INFO, args: [1], message: 'informational' },
    { name: 'NR_MEMSLOTS (not enableable)', cap: KVM_CAP_NR_MEMSLOTS, args: [], message: 'cannot be enabled' },
    { name: 'READONLY_MEM (not enableable)', cap: KVM_CAP_READONLY_MEM, args: [1], message: 'cannot be enabled' },
    { name: 'an unknown capability 9999', cap: 9999, args: [], message: 'cannot be enabled' },
    { name: 'a non-integer capability', cap: 1.5, args: [], message: 'cap' },
    { name: 'MANUAL_DIRTY_LOG_PROTECT2 when disabled', cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, args: [1], message: 'disabled', vm: { disabledCaps: [KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2] } },
    { name: 'X86_MEMORY_FAULT_EXIT when disabled', cap: KVM_CAP_X86_MEMORY_FAULT_EXIT, args: [2], message: 'disabled', vm: { disabledCaps: [KVM_CAP_X86_MEMORY_FAULT_EXIT] } },
  ];
  for (const row of ENABLE_BAD) {
    test(`${impl}: enableCap ${row.name} is EINVAL`, (t) => {
      const vm = newVm(t, { memslots: impl, ...row.vm });
      throwsKvm(t, () => vm.enableCap(row.cap, row.args), 'EINVAL', row.message);
    });
  }

  test(`${impl}: enableCap with args that are not an array is EINVAL`, (t) => {
    const vm = newVm(t, { memslots: impl });
    throwsKvm(t, () => vm.enableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 1 as unknown as number[]), 'EINVAL', 'args');
  });

  test(`${impl}: a rejected MANUAL_DIRTY_LOG_PROTECT2 keeps the previous setting`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const hva = vm.host.mmap(4 * P);
    vm.enableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE]);
    t.throws(() => vm.enableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [1 << 4]), { instanceOf: KvmError });
    vm.setUserMemoryRegion(region({ slot: 0, flags: KVM_MEM_LOG_DIRTY_PAGES, memorySize: 4 * P, userspaceAddr: hva }));
    vm.writeGuest(0, new Uint8Array([1]));
    t.is(vm.getDirtyLog(0)[0], 1);
    t.is(vm.getDirtyLog(0)[0], 1, 'manual protect still on: getDirtyLog does not clear');
  });

  // --- disabledCaps --------------------------------------------------------------------------------

  const DISABLE_ROWS: Array<{ cap: number; name: string; flag?: number }> = [
    { cap: KVM_CAP_READONLY_MEM, name: 'KVM_CAP_READONLY_MEM', flag: KVM_MEM_READONLY },
    { cap: KVM_CAP_PCI_HOLE_MEM, name: 'KVM_CAP_PCI_HOLE_MEM', flag: KVM_MEM_PCI_HOLE },
    { cap: KVM_CAP_MEMORY_FAULT_NOWAIT, name: 'KVM_CAP_MEMORY_FAULT_NOWAIT', flag: KVM_MEM_ABSENT_MAPPING_FAULT },
    { cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, name: 'KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2' },
    { cap: KVM_CAP_X86_MEMORY_FAULT_EXIT, name: 'KVM_CAP_X86_MEMORY_FAULT_EXIT' },
    { cap: KVM_CAP_MEMORY_FAULT_INFO, name: 'KVM_CAP_MEMORY_FAULT_INFO' },
    { cap: KVM_CAP_MULTI_ADDRESS_SPACE, name: 'KVM_CAP_MULTI_ADDRESS_SPACE' },
    { cap: KVM_CAP_NR_MEMSLOTS, name: 'KVM_CAP_NR_MEMSLOTS' },
  ];
  for (const row of DISABLE_ROWS) {
    test(`${impl}: disabledCaps [${row.name}]: the VM reports 0, Kvm and other VMs still report it${row.flag ? ', its flag is EINVAL' : ''}`, (t) => {
      const vm = newVm(t, { memslots: impl, disabledCaps: [row.cap] });
      const other = newVm(t, { memslots: impl });
      t.is(vm.checkExtension(row.cap), 0);
      t.not(theKvm().checkExtension(row.cap), 0);
      t.not(other.checkExtension(row.cap), 0);
      if (row.flag !== undefined) {
        const r = region({ slot: 0, flags: row.flag, memorySize: P, userspaceAddr: row.flag === KVM_MEM_PCI_HOLE ? 0 : 0x1000_0000 });
        throwsKvm(t, () => vm.setUserMemoryRegion(r), 'EINVAL', 'valid set');
        t.deepEqual(vm.memslots(), []);
        t.is(other.setUserMemoryRegion(r), 'create', 'the flag works on a VM that has the capability');
      }
    });
  }

  test(`${impl}: disabledCaps: capabilities not listed keep working`, (t) => {
    const vm = newVm(t, { memslots: impl, disabledCaps: [KVM_CAP_PCI_HOLE_MEM] });
    t.is(vm.checkExtension(KVM_CAP_READONLY_MEM), 1);
    t.is(vm.setUserMemoryRegion(region({ slot: 0, flags: KVM_MEM_READONLY, memorySize: P, userspaceAddr: 0x1000_0000 })), 'create');
    t.notThrows(() => vm.enableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [3]));
  });

  test(`${impl}: disabledCaps [KVM_CAP_MULTI_ADDRESS_SPACE] with addressSpaces 2 fails; with 1 it works`, (t) => {
    throwsKvm(t, () => theKvm().createVm({ memslots: impl, addressSpaces: 2, disabledCaps: [KVM_CAP_MULTI_ADDRESS_SPACE] }), 'EINVAL', 'KVM_CAP_MULTI_ADDRESS_SPACE');
    const vm = newVm(t, { memslots: impl, addressSpaces: 1, disabledCaps: [KVM_CAP_MULTI_ADDRESS_SPACE] });
    t.is(vm.addressSpaces, 1);
    t.is(vm.checkExtension(KVM_CAP_MULTI_ADDRESS_SPACE), 0);
  });
}

// --- createVm options --------------------------------------------------------------------------------

const BAD_OPTIONS: Array<[string, unknown, string]> = [
  ['options null', null, 'options'],
  ['options a number', 5, 'options'],
  ["memslots 'list'", { memslots: 'list' }, 'memslots'],
  ['memslots 1', { memslots: 1 }, 'memslots'],
  ['addressSpaces 0', { addressSpaces: 0 }, 'addressSpaces'],
  ['addressSpaces 3', { addressSpaces: 3 }, 'addressSpaces'],
  ["addressSpaces '2'", { addressSpaces: '2' }, 'addressSpaces'],
  ['disabledCaps not an array', { disabledCaps: 81 }, 'disabledCaps'],
  ['disabledCaps with a non-integer', { disabledCaps: [81.5] }, 'disabledCaps'],
  ['disabledCaps with a capability the model does not implement', { disabledCaps: [9999] }, 'disabledCaps'],
  ['physAddrBits 31', { physAddrBits: 31 }, 'physAddrBits'],
  ['physAddrBits 53', { physAddrBits: 53 }, 'physAddrBits'],
  ['physAddrBits 49 (past the 4-level TDP)', { physAddrBits: 49 }, 'physAddrBits'],
  ['physAddrBits 40.5', { physAddrBits: 40.5 }, 'physAddrBits'],
  ['hostMemoryBytes 4096 (less than two pages)', { hostMemoryBytes: 4096 }, 'physicalBytes'],
  ['hostMemoryBytes negative', { hostMemoryBytes: -1 }, 'physicalBytes'],
];

for (const [name, options, message] of BAD_OPTIONS) {
  test(`createVm with ${name} is EINVAL`, (t) => {
    throwsKvm(t, () => theKvm().createVm(options as VmOptions), 'EINVAL', message);
  });
}

test('createVm defaults: tree memslots, one address space', async (t) => {
  const vm = theKvm().createVm();
  t.teardown(() => vm.close());
  t.is(vm.memslotImpl, 'tree');
  t.is(vm.addressSpaces, 1);
  t.is(vm.checkExtension(KVM_CAP_MULTI_ADDRESS_SPACE), 1);
});
