/**
 * Slot-count and slot-size limits: a port of set_memory_region_test's test_add_max_memory_regions
 * (reference §2), KVM_CAP_NR_MEMSLOTS, and the cost of big slots (docs/api.md: a slot costs memory in
 * proportion to its pages only when it logs dirty pages).
 */
import test, { type ExecutionContext } from 'ava';
import {
  KVM_CAP_NR_MEMSLOTS, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_MAX_NR_PAGES, KVM_USER_MEM_SLOTS, PAGE_SIZE,
} from '@vcpu-rt/core';
import { GiB, IMPLS, KiB, MiB, newVm, region, snapshot, theKvm, throwsKvm, type Impl } from './_helpers.js';

const MEM_REGION_SIZE = 2 * MiB; // set_memory_region_test.c: 0x200000

function addMaxMemoryRegions(t: ExecutionContext, impl: Impl, nrSlots: number): void {
  const vm = newVm(t, { memslots: impl });
  const maxSlots = vm.checkExtension(KVM_CAP_NR_MEMSLOTS);
  t.is(maxSlots, KVM_USER_MEM_SLOTS);
  t.is(maxSlots, 32764);
  // One host area for all slots, as the selftest does (mmap of max_mem_slots * 2 MiB). mmap is lazy:
  // 64 GiB of virtual address space costs no physical memory.
  const mem = vm.host.mmap(nrSlots * MEM_REGION_SIZE);
  t.is(vm.host.residentBytes(), 0);
  for (let slot = 0; slot < nrSlots; slot++) {
    vm.setUserMemoryRegion(region({ slot, guestPhysAddr: slot * MEM_REGION_SIZE, memorySize: MEM_REGION_SIZE, userspaceAddr: mem + slot * MEM_REGION_SIZE }));
  }
  const slots = vm.memslots();
  t.is(slots.length, nrSlots);
  t.true(slots.every((s, i) => s.id === i && s.baseGfn === i * (MEM_REGION_SIZE / PAGE_SIZE) && s.npages === MEM_REGION_SIZE / PAGE_SIZE));
  t.is(vm.memslotGeneration(), BigInt(nrSlots), 'one swap per CREATE');
  t.is(vm.nrMemslotPages, nrSlots * (MEM_REGION_SIZE / PAGE_SIZE));
  t.is(vm.host.residentBytes(), 0, 'creating slots touches no host page');
  // Lookups find the right slot at both ends.
  t.is(vm.gfnToMemslot(0)?.id, 0);
  t.is(vm.gfnToMemslot(nrSlots * 512 - 1)?.id, nrSlots - 1);
  // Slot id max_mem_slots is rejected with EINVAL, and nothing changes.
  const before = snapshot(vm);
  throwsKvm(t, () => vm.setUserMemoryRegion(region({
    slot: maxSlots, guestPhysAddr: nrSlots * MEM_REGION_SIZE, memorySize: MEM_REGION_SIZE, userspaceAddr: mem,
  })), 'EINVAL', 'KVM_USER_MEM_SLOTS');
  t.deepEqual(snapshot(vm), before);
}

test('tree: set_memory_region_test test_add_max_memory_regions: slots 0..32763 of 2 MiB succeed, slot 32764 is EINVAL', (t) => {
  addMaxMemoryRegions(t, 'tree', KVM_USER_MEM_SLOTS);
});

test('array: set_memory_region_test test_add_max_memory_regions pattern with 512 slots (the O(n^2) design), slot 32764 is EINVAL', (t) => {
  addMaxMemoryRegions(t, 'array', 512);
});

test('Kvm and Vm report KVM_CAP_NR_MEMSLOTS = 32764', (t) => {
  t.is(theKvm().checkExtension(KVM_CAP_NR_MEMSLOTS), 32764);
  for (const impl of IMPLS) t.is(newVm(t, { memslots: impl }).checkExtension(KVM_CAP_NR_MEMSLOTS), 32764, impl);
});

for (const impl of IMPLS) {
  test(`${impl}: a slot of KVM_MEM_MAX_NR_PAGES pages without LOG_DIRTY costs no per-page memory`, (t) => {
    const vm = newVm(t, { memslots: impl });
    // Two small slots first, so one-time growth of the sets' storage (the array design doubles each of
    // its two copies once) is not charged to the big slot.
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0, memorySize: PAGE_SIZE, userspaceAddr: 0x1000_0000 }));
    vm.setUserMemoryRegion(region({ slot: 2, guestPhysAddr: PAGE_SIZE, memorySize: PAGE_SIZE, userspaceAddr: 0x1000_0000 }));
    const bytes = vm.memslotBytes();
    const resident = vm.host.residentBytes();
    const size = KVM_MEM_MAX_NR_PAGES * PAGE_SIZE; // ~8 TiB
    t.is(vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 1 << 30, memorySize: size, userspaceAddr: 0x1_0000_0000 })), 'create');
    t.is(vm.memslots().find((m) => m.id === 1)?.npages, KVM_MEM_MAX_NR_PAGES);
    t.true(vm.memslotBytes() - bytes < 4 * KiB, `memslotBytes grew by ${vm.memslotBytes() - bytes}`);
    t.true(vm.host.residentBytes() - resident < 4 * KiB, `residentBytes grew by ${vm.host.residentBytes() - resident}`);
    // Moving and deleting it is just as cheap.
    t.is(vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 2 ** 44, memorySize: size, userspaceAddr: 0x1_0000_0000 })), 'move');
    t.true(vm.memslotBytes() - bytes < 4 * KiB);
    t.is(vm.setUserMemoryRegion(region({ slot: 1 })), 'delete');
    t.true(vm.memslotBytes() - bytes < 4 * KiB);
  });

  test(`${impl}: a 1 GiB LOG_DIRTY slot costs 2 * ALIGN(npages, 64) / 8 bytes of dirty bitmap`, (t) => {
    const vm = newVm(t, { memslots: impl });
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0, memorySize: PAGE_SIZE, userspaceAddr: 0x1000_0000 }));
    const bytes = vm.memslotBytes();
    const npages = GiB / PAGE_SIZE;
    const bitmapBytes = 2 * (Math.ceil(npages / 64) * 64) / 8; // 64 KiB
    vm.setUserMemoryRegion(region({ slot: 1, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GiB, memorySize: GiB, userspaceAddr: 0x1_0000_0000 }));
    t.true(vm.memslotBytes() - bytes >= bitmapBytes, `memslotBytes grew by ${vm.memslotBytes() - bytes}, want >= ${bitmapBytes}`);
    t.is(vm.getDirtyLog(1).length, bitmapBytes / 2);
    t.is(vm.host.residentBytes(), 0);
  });
}
