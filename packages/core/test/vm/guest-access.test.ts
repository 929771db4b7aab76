/**
 * kvm_read_guest / kvm_write_guest (Vm.readGuest / Vm.writeGuest): copies through the AS 0 memslots
 * into host memory; KVM_MEM_PCI_HOLE reads 0xff (seed 003, memory_slot_pci_hole.c); READONLY,
 * PCI_HOLE and unbacked gpas are EFAULT for writes.
 */
import test from 'ava';
import {
  KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_PCI_HOLE, KVM_MEM_READONLY, PAGE_SIZE, type Vm,
} from '@vcpu-rt/core';
import { IMPLS, newVm, region, throwsKvm } from './_helpers.js';

const P = PAGE_SIZE;

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Two adjacent 4-page slots (gfns 0x100..0x108) backed by two separate host mappings. */
function twoSlots(vm: Vm): { a: number; b: number } {
  const a = vm.host.mmap(4 * P);
  const b = vm.host.mmap(4 * P);
  vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: 4 * P, userspaceAddr: a }));
  vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 0x104000, memorySize: 4 * P, userspaceAddr: b }));
  return { a, b };
}

for (const impl of IMPLS) {
  test(`${impl}: writeGuest / readGuest round trip within a page, across pages and across slots`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const { a, b } = twoSlots(vm);
    const cases: Array<[number, number]> = [
      [0x100000, 1], [0x100010, 100], [0x100ff0, 0x20], [0x101000 - 3, P + 6], [0x104000 - 100, 300], [0x100000, 8 * P], [0x107fff, 1],
    ];
    for (const [i, [gpa, len]] of cases.entries()) {
      const data = pattern(len, i + 1);
      vm.writeGuest(gpa, data);
      t.deepEqual(vm.readGuest(gpa, len), data, `gpa 0x${gpa.toString(16)} len ${len}`);
    }
    // The bytes went to the right host pages: the last case wrote one byte at the end of slot 1,
    // the one before filled both slots completely.
    const whole = pattern(8 * P, 6);
    whole[8 * P - 1] = pattern(1, 7)[0];
    t.deepEqual(vm.host.read(a, 4 * P), whole.subarray(0, 4 * P));
    t.deepEqual(vm.host.read(b, 4 * P), whole.subarray(4 * P));
  });

  test(`${impl}: a write across a slot boundary lands in both host mappings`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const { a, b } = twoSlots(vm);
    const data = pattern(300, 9);
    vm.writeGuest(0x104000 - 100, data);
    t.deepEqual(vm.host.read(a + 4 * P - 100, 100), data.subarray(0, 100));
    t.deepEqual(vm.host.read(b, 200), data.subarray(100));
  });

  test(`${impl}: readGuest sees host writes (guest memory is the host memory behind the slot)`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const { b } = twoSlots(vm);
    vm.host.write(b + P + 5, new Uint8Array([1, 2, 3]));
    t.deepEqual(vm.readGuest(0x105005, 3), new Uint8Array([1, 2, 3]));
  });

  test(`${impl}: two slots over the same host range alias each other`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(2 * P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: 2 * P, userspaceAddr: h }));
    vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 0x900000, memorySize: 2 * P, userspaceAddr: h }));
    vm.writeGuest(0x100000 + P + 1, new Uint8Array([0xab]));
    t.is(vm.readGuest(0x900000 + P + 1, 1)[0], 0xab);
  });

  test(`${impl}: memory_slot_pci_hole: slot 10 at 0xc0000000 (0x4000 bytes) reads 0xff at +0 and +5000 and everywhere`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const resident = vm.host.residentBytes();
    vm.setUserMemoryRegion(region({ slot: 10, flags: KVM_MEM_PCI_HOLE, guestPhysAddr: 0xc0000000, memorySize: 0x4000, userspaceAddr: 0 }));
    t.is(vm.readGuest(0xc0000000, 1)[0], 0xff);
    t.is(vm.readGuest(0xc0000000 + 5000, 1)[0], 0xff);
    t.deepEqual(vm.readGuest(0xc0000000, 0x4000), new Uint8Array(0x4000).fill(0xff));
    t.deepEqual(vm.readGuest(0xc0000000 + 0x3ffc, 4), new Uint8Array(4).fill(0xff));
    t.is(vm.host.residentBytes(), resident, 'a PCI hole needs no host memory');
  });

  test(`${impl}: a read spanning RAM and a PCI hole returns RAM bytes then 0xff`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0xbffff000, memorySize: P, userspaceAddr: h }));
    vm.setUserMemoryRegion(region({ slot: 10, flags: KVM_MEM_PCI_HOLE, guestPhysAddr: 0xc0000000, memorySize: 0x4000, userspaceAddr: 0 }));
    vm.writeGuest(0xbffffffe, new Uint8Array([1, 2]));
    t.deepEqual(vm.readGuest(0xbffffffe, 4), new Uint8Array([1, 2, 0xff, 0xff]));
  });

  const WRITE_FAULTS: Array<[string, (vm: Vm) => number]> = [
    ['a READONLY slot', (vm) => {
      vm.setUserMemoryRegion(region({ slot: 2, flags: KVM_MEM_READONLY, guestPhysAddr: 0x200000, memorySize: 4 * P, userspaceAddr: vm.host.mmap(4 * P) }));
      return 0x200000 + 10;
    }],
    ['a READONLY | LOG_DIRTY slot', (vm) => {
      vm.setUserMemoryRegion(region({ slot: 2, flags: KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: 0x200000, memorySize: 4 * P, userspaceAddr: vm.host.mmap(4 * P) }));
      return 0x200000 + 3 * P;
    }],
    ['a PCI_HOLE slot', (vm) => {
      vm.setUserMemoryRegion(region({ slot: 10, flags: KVM_MEM_PCI_HOLE, guestPhysAddr: 0xc0000000, memorySize: 0x4000, userspaceAddr: 0 }));
      return 0xc0000000 + 1024;
    }],
    ['a gpa with no slot', () => 0x7000000],
    ['a gpa just past the end of a slot', (vm) => {
      vm.setUserMemoryRegion(region({ slot: 2, guestPhysAddr: 0x200000, memorySize: 4 * P, userspaceAddr: vm.host.mmap(4 * P) }));
      return 0x200000 + 4 * P;
    }],
    ['a slot whose host range is not mapped', (vm) => {
      vm.setUserMemoryRegion(region({ slot: 2, guestPhysAddr: 0x200000, memorySize: 4 * P, userspaceAddr: 0x1000_0000 }));
      return 0x200000;
    }],
  ];
  for (const [name, setup] of WRITE_FAULTS) {
    test(`${impl}: writeGuest to ${name} is EFAULT and changes nothing`, (t) => {
      const vm = newVm(t, { memslots: impl });
      const gpa = setup(vm);
      const resident = vm.host.residentBytes();
      throwsKvm(t, () => vm.writeGuest(gpa, new Uint8Array([1, 2, 3, 4])), 'EFAULT', /no writable memslot|not mapped/);
      t.is(vm.host.residentBytes(), resident);
      const log = vm.memslots().find((m) => m.flags & KVM_MEM_LOG_DIRTY_PAGES);
      if (log) t.deepEqual([...vm.getDirtyLog(log.id)].filter((x) => x !== 0), [], 'nothing logged');
    });
  }

  test(`${impl}: readGuest of a READONLY slot returns its host memory`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(P);
    vm.host.write(h + 8, new Uint8Array([5, 6]));
    vm.setUserMemoryRegion(region({ slot: 2, flags: KVM_MEM_READONLY, guestPhysAddr: 0x200000, memorySize: P, userspaceAddr: h }));
    t.deepEqual(vm.readGuest(0x200008, 2), new Uint8Array([5, 6]));
  });

  test(`${impl}: readGuest of a gpa with no slot, or of an unmapped host range, is EFAULT`, (t) => {
    const vm = newVm(t, { memslots: impl });
    throwsKvm(t, () => vm.readGuest(0x7000000, 4), 'EFAULT');
    vm.setUserMemoryRegion(region({ slot: 2, guestPhysAddr: 0x200000, memorySize: 4 * P, userspaceAddr: 0x1000_0000 }));
    throwsKvm(t, () => vm.readGuest(0x200000, 4), 'EFAULT');
    // A read running off the end of a slot.
    const h = vm.host.mmap(P);
    vm.setUserMemoryRegion(region({ slot: 3, guestPhysAddr: 0x300000, memorySize: P, userspaceAddr: h }));
    throwsKvm(t, () => vm.readGuest(0x300000 + P - 2, 4), 'EFAULT');
  });

  test(`${impl}: reading an unpopulated page gives zeros and does not populate it`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(4 * P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: 4 * P, userspaceAddr: h }));
    const resident = vm.host.residentBytes();
    t.deepEqual(vm.readGuest(0x100000, 4 * P), new Uint8Array(4 * P));
    for (let i = 0; i < 4; i++) t.false(vm.host.isPresent(h + i * P));
    t.is(vm.host.residentBytes(), resident);
  });

  test(`${impl}: writeGuest populates exactly the pages it writes`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(4 * P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: 4 * P, userspaceAddr: h }));
    const resident = vm.host.residentBytes();
    vm.writeGuest(0x100000 + P - 1, new Uint8Array([1, 2])); // pages 0 and 1
    t.true(vm.host.isPresent(h));
    t.true(vm.host.isPresent(h + P));
    t.false(vm.host.isPresent(h + 2 * P));
    t.false(vm.host.isPresent(h + 3 * P));
    t.is(vm.host.residentBytes(), resident + 2 * P);
    vm.writeGuest(0x100000 + 10, new Uint8Array([3])); // already present: no new page
    t.is(vm.host.residentBytes(), resident + 2 * P);
  });

  test(`${impl}: after madvise(dontneed) of the backing, readGuest returns zeros`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(4 * P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: 4 * P, userspaceAddr: h }));
    vm.writeGuest(0x100000, pattern(4 * P));
    vm.host.madvise(h + P, 2 * P, 'dontneed');
    const got = vm.readGuest(0x100000, 4 * P);
    t.deepEqual(got.subarray(0, P), pattern(4 * P).subarray(0, P));
    t.deepEqual(got.subarray(P, 3 * P), new Uint8Array(2 * P));
    t.deepEqual(got.subarray(3 * P), pattern(4 * P).subarray(3 * P));
    t.false(vm.host.isPresent(h + P));
  });

  test(`${impl}: ABSENT_MAPPING_FAULT affects only guest page faults: readGuest/writeGuest work on absent pages`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(2 * P);
    vm.setUserMemoryRegion(region({ slot: 0, flags: KVM_MEM_ABSENT_MAPPING_FAULT, guestPhysAddr: 0x100000, memorySize: 2 * P, userspaceAddr: h }));
    t.deepEqual(vm.readGuest(0x100000, 8), new Uint8Array(8));
    t.false(vm.host.isPresent(h));
    vm.writeGuest(0x101000, new Uint8Array([3]));
    t.true(vm.host.isPresent(h + P));
    t.is(vm.readGuest(0x101000, 1)[0], 3);
  });

  test(`${impl}: readGuest and writeGuest use address space 0 only`, (t) => {
    const vm = newVm(t, { memslots: impl, addressSpaces: 2 });
    const smm = vm.host.mmap(P);
    vm.host.write(smm, new Uint8Array([0x5a]));
    vm.setUserMemoryRegion(region({ slot: (1 << 16) | 0, guestPhysAddr: 0x100000, memorySize: P, userspaceAddr: smm }));
    throwsKvm(t, () => vm.readGuest(0x100000, 1), 'EFAULT');
    throwsKvm(t, () => vm.writeGuest(0x100000, new Uint8Array([1])), 'EFAULT');
    // With a slot at the same gpa in AS 0, accesses go there.
    const ram = vm.host.mmap(P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: P, userspaceAddr: ram }));
    t.is(vm.readGuest(0x100000, 1)[0], 0);
    vm.writeGuest(0x100000, new Uint8Array([0x77]));
    t.is(vm.host.read(ram, 1)[0], 0x77);
    t.is(vm.host.read(smm, 1)[0], 0x5a, 'the AS 1 backing is untouched');
  });

  test(`${impl}: accesses follow a MOVE and fail after a DELETE`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: P, userspaceAddr: h }));
    vm.writeGuest(0x100010, new Uint8Array([9]));
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x500000, memorySize: P, userspaceAddr: h }));
    throwsKvm(t, () => vm.readGuest(0x100010, 1), 'EFAULT');
    t.is(vm.readGuest(0x500010, 1)[0], 9);
    vm.setUserMemoryRegion(region({ slot: 0 }));
    throwsKvm(t, () => vm.readGuest(0x500010, 1), 'EFAULT');
  });

  test(`${impl}: zero-length accesses succeed; bad arguments are EINVAL`, (t) => {
    const vm = newVm(t, { memslots: impl });
    t.deepEqual(vm.readGuest(0x7000000, 0), new Uint8Array(0));
    t.notThrows(() => vm.writeGuest(0x7000000, new Uint8Array(0)));
    throwsKvm(t, () => vm.readGuest(-1, 1), 'EINVAL', 'gpa');
    throwsKvm(t, () => vm.readGuest(1.5, 1), 'EINVAL', 'gpa');
    throwsKvm(t, () => vm.readGuest(0, -1), 'EINVAL', 'length');
    throwsKvm(t, () => vm.writeGuest(-4096, new Uint8Array(1)), 'EINVAL', 'gpa');
    throwsKvm(t, () => vm.writeGuest(0, [1, 2] as unknown as Uint8Array), 'EINVAL', 'data');
  });
}
