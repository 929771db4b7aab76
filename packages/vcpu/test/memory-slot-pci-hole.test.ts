/**
 * Port of tools/testing/selftests/kvm/x86_64/memory_slot_pci_hole.c (seed 003, v1 3/3
 * <20200728143741.2718593-4-vkuznets@redhat.com>): slot 10 at 0xc0000000, 0x4000 bytes,
 * KVM_MEM_PCI_HOLE with no backing (userspace_addr 0). Guest u8 reads at +0 and +5000 read 0xff;
 * u64 writes at +1024 and +8000 exit as KVM_EXIT_MMIO (stages 3 and 5); the other stages are ucall
 * IO exits. Run against both ways the model serves hole reads.
 */
import test from 'ava';
import {
  KVM_CAP_PCI_HOLE_MEM, KVM_EXIT_HLT, KVM_EXIT_MMIO, KVM_MEM_PCI_HOLE, PAGE_SIZE,
} from '@vcpu-rt/core';
import type { Op } from '@vcpu-rt/vcpu';
import { describe, newVm, spawn, u64, ucall } from './_helpers.js';

const MEM_REGION_GPA = 0xc0000000;
const MEM_REGION_SIZE = 0x4000;
const MEM_REGION_SLOT = 10;
const VAL_1024 = 0xdeadbeefcafef00dn;
const VAL_8000 = 0x0102030405060708n;

for (const pciHole of ['emulate', 'allones'] as const) {
  test(`memory_slot_pci_hole: reads are 0xff, writes exit as MMIO (pciHole '${pciHole}')`, async (t) => {
    const vm = newVm(t, { pciHole });
    t.is(vm.checkExtension(KVM_CAP_PCI_HOLE_MEM), 1);
    vm.setUserMemoryRegion({
      slot: MEM_REGION_SLOT, flags: KVM_MEM_PCI_HOLE, guestPhysAddr: MEM_REGION_GPA, memorySize: MEM_REGION_SIZE, userspaceAddr: 0,
    });
    const ops: Op[] = [
      { op: 'read', gpa: MEM_REGION_GPA, size: 1 }, // first byte of the region
      { op: 'ucall' },
      { op: 'read', gpa: MEM_REGION_GPA + 5000, size: 1 }, // somewhere in the middle
      { op: 'ucall' },
      { op: 'write', gpa: MEM_REGION_GPA + 1024, size: 8, value: VAL_1024 },
      { op: 'ucall' },
      { op: 'write', gpa: MEM_REGION_GPA + 8000, size: 8, value: VAL_8000 },
      // Writes went to userspace, not to memory: the hole still reads as all ones.
      { op: 'read', gpa: MEM_REGION_GPA + 1024, size: 8 },
      { op: 'read', gpa: MEM_REGION_GPA + 8000, size: 8 },
    ];
    const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });

    // Stage 1 and 2: ucall IO exits carrying the bytes read.
    t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0xff], 'stage 1: u8 at +0');
    t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0xff], 'stage 2: u8 at +5000');

    // Stage 3: the u64 write at +1024 is an MMIO exit with the data.
    for (const [stage, off, value] of [[3, 1024, VAL_1024], [5, 8000, VAL_8000]] as const) {
      const exit = await vcpu.run();
      t.is(exit.reason, KVM_EXIT_MMIO, `stage ${stage}: ${describe(exit)}`);
      if (exit.reason === KVM_EXIT_MMIO) {
        t.true(exit.mmio.isWrite, `stage ${stage}: isWrite`);
        t.is(exit.mmio.len, 8, `stage ${stage}: len`);
        t.is(exit.mmio.physAddr, MEM_REGION_GPA + off, `stage ${stage}: physAddr`);
        t.is(u64(exit.mmio.data), value, `stage ${stage}: mmio.data holds the written u64 (little-endian)`);
      }
      if (stage === 3) t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [], 'stage 4: ucall');
    }
    t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0xffffffffffffffffn, 0xffffffffffffffffn], 'stage 6: done; the hole still reads 0xff');
    t.is((await vcpu.run()).reason, KVM_EXIT_HLT);

    // kvm_read_guest of the hole is 0xff too, and the slot costs no host memory.
    t.deepEqual([...vm.readGuest(MEM_REGION_GPA + 4090, 12)], new Array(12).fill(0xff));
    t.is(vm.host.residentBytes(), 0);
    const stats = vcpu.stats();
    t.is(stats.mmioExits, 2, 'exactly the two writes left the kernel');
    if (pciHole === 'emulate') {
      t.is(stats.pciHoleEmulated, 4, 'every read was emulated in the kernel');
      t.is(vm.mappedPages(MEM_REGION_GPA / PAGE_SIZE, (MEM_REGION_GPA + MEM_REGION_SIZE) / PAGE_SIZE), 0, 'emulate maps nothing');
    } else {
      t.is(stats.pciHoleEmulated, 0, 'reads hit the shared 0xff page');
      // Pages 0, 1 (5000) and 1 (8000): the read pages are mapped read-only to the one 0xff page.
      t.is(vm.mappedPages(MEM_REGION_GPA / PAGE_SIZE, (MEM_REGION_GPA + MEM_REGION_SIZE) / PAGE_SIZE), 2);
      t.is(vm.host.kernelBytes(), PAGE_SIZE, 'one shared page for every hole');
    }
  });
}

for (const pciHole of ['emulate', 'allones'] as const) {
  test(`memory_slot_pci_hole, moved and deleted: the old range stops reading 0xff (pciHole '${pciHole}')`, async (t) => {
    const vm = newVm(t, { pciHole });
    const region = { slot: MEM_REGION_SLOT, flags: KVM_MEM_PCI_HOLE, memorySize: MEM_REGION_SIZE, userspaceAddr: 0 };
    vm.setUserMemoryRegion({ ...region, guestPhysAddr: MEM_REGION_GPA });
    const MOVED = MEM_REGION_GPA + 0x100000;
    const read = (gpa: number): Op => ({ op: 'read', gpa, size: 4 });
    const vcpu = await spawn(t, vm, 0, {
      guest: 'ops', args: { ops: [read(MEM_REGION_GPA), { op: 'ucall' }, read(MEM_REGION_GPA), read(MOVED), { op: 'ucall' }, read(MOVED)] },
    });
    t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0xffffffff]);
    vm.setUserMemoryRegion({ ...region, guestPhysAddr: MOVED });
    let exit = await vcpu.run();
    t.is(exit.reason, KVM_EXIT_MMIO, `the old range has no slot: ${describe(exit)}`);
    if (exit.reason === KVM_EXIT_MMIO) {
      t.deepEqual([exit.mmio.isWrite, exit.mmio.physAddr, exit.mmio.len], [false, MEM_REGION_GPA, 4]);
      exit.mmio.data.set([1, 2, 3, 4]);
    }
    t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0x04030201, 0xffffffff], 'MMIO data, then the moved hole');
    vm.setUserMemoryRegion({ ...region, guestPhysAddr: MOVED, memorySize: 0 });
    exit = await vcpu.run();
    t.is(exit.reason, KVM_EXIT_MMIO, `the deleted hole has no slot: ${describe(exit)}`);
    if (exit.reason === KVM_EXIT_MMIO) exit.mmio.data.set([0, 0, 0, 0]);
    t.deepEqual(ucall(t, await vcpu.run(), 'done'), [0]);
    t.is(vm.mappedPages(MEM_REGION_GPA / PAGE_SIZE, (MOVED + MEM_REGION_SIZE) / PAGE_SIZE), 0, 'no spte survives the move and the delete');
  });
}
