/**
 * madvise(MADV_DONTNEED) of a page a guest has mapped (docs/api.md HostMemory, docs/mmu.md MMU notifier):
 * the page reads back as zero in the guest, which needs the MMU notifier's zap and the TLB flush;
 * vm.mappedPages drops; the next guest access faults a fresh page in.
 */
import test from 'ava';
import { PAGE_SIZE } from '@vcpu-rt/core';
import type { Op } from '@vcpu-rt/vcpu';
import { addSlot, le64, newVm, spawn, u64, ucall } from './_helpers.js';

const GPA = 0x20000000;
const SLOT = 1;
const PAGES = 16;
const gfn0 = GPA / PAGE_SIZE;

test('dontneed of a mapped page: the guest reads it back as 0 and the spte is zapped', async (t) => {
  const vm = newVm(t);
  const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: PAGES * PAGE_SIZE });
  const ops: Op[] = [
    { op: 'write', gpa: GPA + 16, size: 8, value: 0x1122334455667788n },
    { op: 'write', gpa: GPA + PAGE_SIZE, size: 4, value: 0xcafe },
    { op: 'read', gpa: GPA + 16, size: 8 },
    { op: 'ucall' }, // 1: both pages mapped
    { op: 'read', gpa: GPA + 16, size: 8 },
    { op: 'read', gpa: GPA + PAGE_SIZE, size: 4 },
    { op: 'ucall' }, // 2: after the dontneed of page 0
    { op: 'read', gpa: GPA + 16, size: 8 },
    { op: 'ucall' }, // 3: after the host wrote page 0
    { op: 'write', gpa: GPA + 24, size: 8, value: 7n },
  ];
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });

  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0x1122334455667788n]);
  t.is(vm.mappedPages(gfn0, gfn0 + PAGES), 2);
  t.true(vm.host.isPresent(hva));
  t.is(u64(vm.host.read(hva + 16, 8)), 0x1122334455667788n, 'the guest wrote the host page');
  const before = vm.mmuStats();

  vm.host.madvise(hva, PAGE_SIZE, 'dontneed');
  t.false(vm.host.isPresent(hva));
  t.is(vm.mappedPages(gfn0, gfn0 + 1), 0, 'the MMU notifier zapped the page');
  t.is(vm.mappedPages(gfn0, gfn0 + PAGES), 1, 'page 1 is still mapped');
  const after = vm.mmuStats();
  t.is(after.zapped - before.zapped, 1);
  t.true(after.tlbFlushes > before.tlbFlushes, 'the zap flushed the TLBs');

  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0n, 0xcafe], 'page 0 reads as zero, page 1 is intact');
  t.is(vm.mappedPages(gfn0, gfn0 + PAGES), 2, 'the read faulted page 0 back in');

  // The guest maps the new page: a host write to it is what the guest reads next.
  vm.host.write(hva + 16, le64(0xabcdn));
  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [0xabcdn]);
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), []);
  t.is(u64(vm.host.read(hva + 24, 8)), 7n, 'guest writes land in the new page');
});

test('dontneed of a whole slot between runs: every page reads as 0 and nothing stays mapped', async (t) => {
  const vm = newVm(t);
  const hva = addSlot(vm, { slot: SLOT, gpa: GPA, size: PAGES * PAGE_SIZE });
  const ops: Op[] = [];
  for (let p = 0; p < PAGES; p++) ops.push({ op: 'write', gpa: GPA + p * PAGE_SIZE, size: 8, value: BigInt(p + 1) });
  ops.push({ op: 'ucall' });
  for (let p = 0; p < PAGES; p++) ops.push({ op: 'read', gpa: GPA + p * PAGE_SIZE, size: 8 });
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } });
  ucall(t, await vcpu.run(), 'sync');
  t.is(vm.mappedPages(gfn0, gfn0 + PAGES), PAGES);
  const resident = vm.host.residentBytes();
  vm.host.madvise(hva, PAGES * PAGE_SIZE, 'dontneed');
  t.is(vm.mappedPages(gfn0, gfn0 + PAGES), 0);
  t.is(vm.host.residentBytes(), resident - PAGES * PAGE_SIZE);
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), new Array(PAGES).fill(0n));
});
