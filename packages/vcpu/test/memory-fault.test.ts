/**
 * Memory-fault exits (seed 002, reference §7, docs/api.md): a slot with KVM_MEM_ABSENT_MAPPING_FAULT over
 * host memory that is not populated. With KVM_CAP_X86_MEMORY_FAULT_EXIT enabled for
 * KVM_MEMFAULT_REASON_ABSENT_MAPPING the access exits with KVM_EXIT_MEMORY_FAULT; userspace populates
 * the page and the next run completes the access. Without the enable KVM_RUN fails with EFAULT and no
 * exit information; without the flag the page is simply faulted in.
 */
import test from 'ava';
import {
  KvmError, KVM_CAP_MEMORY_FAULT_NOWAIT, KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_EXIT_MEMORY_FAULT, KVM_MEM_ABSENT_MAPPING_FAULT,
  KVM_MEMFAULT_REASON_ABSENT_MAPPING, KVM_MEMFAULT_REASON_UNKNOWN, PAGE_SIZE,
} from '@vcpu-rt/core';
import { KvmRunError, type Op } from '@vcpu-rt/vcpu';
import { addSlot, describe, le64, newVm, spawn, ucall } from './_helpers.js';

const GPA = 0x30000000;
const SLOT = 1;

const ops: Op[] = [
  { op: 'read', gpa: GPA + 8, size: 8 }, // page 0
  { op: 'write', gpa: GPA + PAGE_SIZE + 12, size: 4, value: 0x600df00d }, // page 1
  { op: 'read', gpa: GPA + PAGE_SIZE + 12, size: 4 },
  { op: 'read', gpa: GPA + 8, size: 8 }, // page 0 again: present now, no exit
];

test('seed 002: KVM_EXIT_MEMORY_FAULT for an absent page, resolved by populating it', async (t) => {
  const vm = newVm(t);
  t.is(vm.checkExtension(KVM_CAP_MEMORY_FAULT_NOWAIT), 1);
  vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
  const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: 4 * PAGE_SIZE, flags: KVM_MEM_ABSENT_MAPPING_FAULT });
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });

  let exit = await vcpu.run();
  t.is(exit.reason, KVM_EXIT_MEMORY_FAULT, describe(exit));
  if (exit.reason === KVM_EXIT_MEMORY_FAULT) {
    t.deepEqual(exit.memoryFault, { flags: KVM_MEMFAULT_REASON_ABSENT_MAPPING, gpa: GPA, size: PAGE_SIZE }, 'the faulting page');
  }
  t.false(vm.host.isPresent(hva), 'KVM did not fault the page in');
  // Userspace resolves it (as a postcopy VMM would, with the page's contents) and retries.
  vm.host.write(hva + 8, le64(0x5eed5eed5eedn));

  exit = await vcpu.run();
  t.is(exit.reason, KVM_EXIT_MEMORY_FAULT, describe(exit));
  if (exit.reason === KVM_EXIT_MEMORY_FAULT) {
    t.deepEqual(exit.memoryFault, { flags: KVM_MEMFAULT_REASON_ABSENT_MAPPING, gpa: GPA + PAGE_SIZE, size: PAGE_SIZE }, 'the written page');
  }
  vm.host.madvise(hva + PAGE_SIZE, PAGE_SIZE, 'populate_write');

  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0x5eed5eed5eedn, 0x600df00d, 0x5eed5eed5eedn], 'the accesses completed after population');
  t.is(vcpu.stats().memoryFaults, 2);
  t.false(vm.host.isPresent(hva + 2 * PAGE_SIZE), 'untouched pages stay absent');
});

test('seed 002: without KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_RUN fails with EFAULT and no memory_fault', async (t) => {
  for (const reasons of [undefined, [KVM_MEMFAULT_REASON_UNKNOWN]]) {
    const vm = newVm(t);
    if (reasons) vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, reasons);
    const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: 4 * PAGE_SIZE, flags: KVM_MEM_ABSENT_MAPPING_FAULT });
    const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
    const err = await t.throwsAsync(vcpu.run(), { instanceOf: KvmRunError });
    t.true(err instanceof KvmError, 'a KvmError');
    t.is(err?.code, 'EFAULT');
    t.is(err?.errno, -14);
    t.is((err as KvmRunError | undefined)?.memoryFault, undefined, `no exit information (reasons ${JSON.stringify(reasons)})`);
    t.false(vm.host.isPresent(hva));
    // The failure repeats until userspace fixes the mapping; then the access completes.
    await t.throwsAsync(vcpu.run(), { instanceOf: KvmRunError });
    vm.host.madvise(hva, 2 * PAGE_SIZE, 'populate_write');
    t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0n, 0x600df00d, 0n]);
  }
});

test('seed 002: without KVM_MEM_ABSENT_MAPPING_FAULT an absent page is faulted in', async (t) => {
  const vm = newVm(t);
  vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
  const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: 4 * PAGE_SIZE });
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0n, 0x600df00d, 0n]);
  t.true(vm.host.isPresent(hva) && vm.host.isPresent(hva + PAGE_SIZE));
  t.is(vcpu.stats().memoryFaults, 0);
});

test('seed 002: a present page in an ABSENT_MAPPING_FAULT slot needs no exit', async (t) => {
  const vm = newVm(t);
  vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
  const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: 4 * PAGE_SIZE, flags: KVM_MEM_ABSENT_MAPPING_FAULT, populate: true });
  vm.host.write(hva + 8, le64(42n));
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [42n, 0x600df00d, 42n]);
});

test('KVM_CAP_MEMORY_FAULT_INFO: a slot whose host memory is unmapped fails KVM_RUN with EFAULT and the faulting range', async (t) => {
  const vm = newVm(t);
  const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: 4 * PAGE_SIZE });
  vm.host.munmap(hva, 4 * PAGE_SIZE);
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
  const err = await t.throwsAsync(vcpu.run(), { instanceOf: KvmRunError });
  t.is(err?.code, 'EFAULT');
  t.deepEqual((err as KvmRunError | undefined)?.memoryFault, { flags: 0, gpa: GPA, size: PAGE_SIZE });
});

test('seed 002: a page dropped with madvise(DONTNEED) is absent again and exits again', async (t) => {
  const vm = newVm(t);
  vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
  const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: 4 * PAGE_SIZE, flags: KVM_MEM_ABSENT_MAPPING_FAULT });
  vm.host.write(hva, le64(1n));
  const vcpu = await spawn(t, vm, 0, {
    guest: 'ops', args: { ops: [{ op: 'read', gpa: GPA, size: 8 }, { op: 'ucall' }, { op: 'read', gpa: GPA, size: 8 }] },
  });
  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [1n], 'present: no exit');
  vm.host.madvise(hva, PAGE_SIZE, 'dontneed');
  const exit = await vcpu.run();
  t.is(exit.reason, KVM_EXIT_MEMORY_FAULT, describe(exit));
  if (exit.reason === KVM_EXIT_MEMORY_FAULT) t.deepEqual(exit.memoryFault, { flags: KVM_MEMFAULT_REASON_ABSENT_MAPPING, gpa: GPA, size: PAGE_SIZE });
  vm.host.write(hva, le64(2n));
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [2n]);
});
