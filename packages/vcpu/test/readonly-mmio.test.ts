/**
 * KVM_MEM_READONLY (api.rst 4.35: writes to a read-only slot become KVM_EXIT_MMIO) and the in-kernel
 * MMIO bus (seed 003's reviewer alternative): a bus device answers reads with its fill byte and, with
 * discardWrites, swallows writes without an exit; otherwise writes exit to userspace.
 */
import test from 'ava';
import { KVM_EXIT_MMIO, KVM_MEM_READONLY, PAGE_SIZE } from '@vcpu-rt/core';
import type { Op } from '@vcpu-rt/vcpu';
import { addSlot, completeMmioRead, describe, le64, MiB, newVm, spawn, u64, ucall } from './_helpers.js';

const RO_GPA = 0x50000000;
const BUS_GPA = 0xfe000000;

test('KVM_MEM_READONLY: reads return the slot memory, writes exit as MMIO writes and do not land', async (t) => {
  const vm = newVm(t);
  const hva = vm.host.mmap(2 * PAGE_SIZE);
  vm.host.write(hva, le64(0x0123456789abcdefn));
  vm.host.write(hva + PAGE_SIZE + 100, new Uint8Array([0x5a]));
  addSlot(vm, { slot: 3, gpa: RO_GPA, size: 2 * PAGE_SIZE, flags: KVM_MEM_READONLY, hva });
  const ops: Op[] = [
    { op: 'read', gpa: RO_GPA, size: 8 },
    { op: 'read', gpa: RO_GPA + PAGE_SIZE + 100, size: 1 },
    { op: 'write', gpa: RO_GPA + 16, size: 4, value: 0xfeedface },
    { op: 'write', gpa: RO_GPA, size: 8, value: 0x1111111111111111n }, // a page the TLB already maps read-only
    { op: 'read', gpa: RO_GPA + 16, size: 4 },
    { op: 'read', gpa: RO_GPA, size: 8 },
  ];
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
  for (const [gpa, len, value] of [[RO_GPA + 16, 4, 0xfeedfacen], [RO_GPA, 8, 0x1111111111111111n]] as const) {
    const exit = await vcpu.run();
    t.is(exit.reason, KVM_EXIT_MMIO, describe(exit));
    if (exit.reason !== KVM_EXIT_MMIO) return;
    t.true(exit.mmio.isWrite);
    t.is(exit.mmio.physAddr, gpa);
    t.is(exit.mmio.len, len);
    t.is(u64(exit.mmio.data) & ((1n << BigInt(8 * len)) - 1n), value);
  }
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0x0123456789abcdefn, 0x5a, 0, 0x0123456789abcdefn], 'the writes did not change memory');
  t.is(u64(vm.host.read(hva, 8)), 0x0123456789abcdefn);
  t.is(vcpu.stats().mmioExits, 2);
});

test('in-kernel MMIO bus: a discardWrites device reads as its fill byte and swallows writes without exits', async (t) => {
  const vm = newVm(t);
  addSlot(vm, { slot: 0, gpa: 0, size: 1 * MiB }); // RAM: a vCPU needs memory to fetch code from
  vm.registerMmioDevice({ gpa: BUS_GPA, len: 2 * PAGE_SIZE, fill: 0xff, discardWrites: true });
  const ops: Op[] = [
    { op: 'read', gpa: BUS_GPA, size: 4 },
    { op: 'read', gpa: BUS_GPA + PAGE_SIZE + 3, size: 1 },
    { op: 'read', gpa: BUS_GPA + 8, size: 8 },
    { op: 'write', gpa: BUS_GPA + 8, size: 8, value: 1n },
    { op: 'write', gpa: BUS_GPA + PAGE_SIZE, size: 2, value: 0x1234 },
    { op: 'read', gpa: BUS_GPA + 8, size: 8 },
    { op: 'ucall' },
    { op: 'read', gpa: BUS_GPA + 2 * PAGE_SIZE, size: 4 }, // just past the device: userspace MMIO
  ];
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0xffffffff, 0xff, 0xffffffffffffffffn, 0xffffffffffffffffn]);
  t.deepEqual([vcpu.stats().mmioBus, vcpu.stats().mmioExits], [6, 0], 'four reads and two writes on the bus, no exits');
  const exit = await vcpu.run();
  t.is(exit.reason, KVM_EXIT_MMIO, describe(exit));
  if (exit.reason === KVM_EXIT_MMIO) {
    t.false(exit.mmio.isWrite);
    t.is(exit.mmio.physAddr, BUS_GPA + 2 * PAGE_SIZE);
    t.is(exit.mmio.len, 4);
    completeMmioRead(exit.mmio.data, 0xa5a5a5a5n);
  }
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0xa5a5a5a5]);
  t.is(vm.host.residentBytes(), 0, 'the device costs no guest memory');
});

test('in-kernel MMIO bus: without discardWrites, reads are answered in the kernel and writes exit', async (t) => {
  const vm = newVm(t);
  addSlot(vm, { slot: 0, gpa: 0, size: 1 * MiB }); // RAM: a vCPU needs memory to fetch code from
  vm.registerMmioDevice({ gpa: BUS_GPA, len: PAGE_SIZE, fill: 0xab, discardWrites: false });
  const ops: Op[] = [
    { op: 'read', gpa: BUS_GPA + 2, size: 2 },
    { op: 'write', gpa: BUS_GPA + 4, size: 4, value: 0xdeadbeef },
    { op: 'read', gpa: BUS_GPA + 4, size: 4 },
  ];
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
  const exit = await vcpu.run();
  t.is(exit.reason, KVM_EXIT_MMIO, describe(exit));
  if (exit.reason === KVM_EXIT_MMIO) {
    t.true(exit.mmio.isWrite);
    t.is(exit.mmio.physAddr, BUS_GPA + 4);
    t.is(exit.mmio.len, 4);
    t.is(u64(exit.mmio.data), 0xdeadbeefn);
  }
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0xabab, 0xabababab]);
  const s = vcpu.stats();
  t.deepEqual([s.mmioBus, s.mmioExits], [2, 1]);

  // Unregistered, the same reads go to userspace.
  vm.unregisterMmioDevice(BUS_GPA);
  const vcpu2 = await spawn(t, vm, 1, { guest: 'ops', args: { ops: [{ op: 'read', gpa: BUS_GPA, size: 1 }] } });
  const e2 = await vcpu2.run();
  t.is(e2.reason, KVM_EXIT_MMIO, describe(e2));
});

test('MMIO reads of 1, 2, 4 and 8 bytes exit with their length and complete with the little-endian mmio.data', async (t) => {
  const vm = newVm(t);
  addSlot(vm, { slot: 0, gpa: 0, size: 1 * MiB }); // RAM: a vCPU needs memory to fetch code from
  const UNBACKED = 0xd0000000;
  const sizes = [1, 2, 4, 8] as const;
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: sizes.map((size, i) => ({ op: 'read', gpa: UNBACKED + 0x10 * i, size })) } });
  const fill = 0x8877665544332211n;
  for (const [i, size] of sizes.entries()) {
    const exit = await vcpu.run();
    t.is(exit.reason, KVM_EXIT_MMIO, describe(exit));
    if (exit.reason !== KVM_EXIT_MMIO) return;
    t.deepEqual([exit.mmio.isWrite, exit.mmio.len, exit.mmio.physAddr], [false, size, UNBACKED + 0x10 * i]);
    completeMmioRead(exit.mmio.data, fill); // only the first `len` bytes count
  }
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0x11, 0x2211, 0x44332211, fill]);
});
