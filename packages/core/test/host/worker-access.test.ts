/** Host memory is one address space for every thread of the VMM. */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Kvm } from '@vcpu-rt/core';

test('a worker writes host memory the main thread reads, and its madvise(DONTNEED) reaches the VM\'s MMU notifier', async (t) => {
  const vm = new Kvm().createVm({ hostMemoryBytes: 1 << 20 });
  t.teardown(() => vm.close());
  const hva = vm.host.mmap(4 * 4096);
  vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: 0x100000, memorySize: 4 * 4096, userspaceAddr: hva });
  const ranges: unknown[] = [];
  vm.onGfnRangeUnmap((r) => ranges.push(r));
  const seq0 = vm.shared.ctl.mmuInvalidateSeq();

  const w = new Worker(new URL('../fixtures/host-worker.js', import.meta.url), { workerData: { handle: vm.handle(), hva } });
  t.teardown(() => w.terminate());
  const msg = await new Promise<{ read: number[] }>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });

  // The worker wrote 0xab at hva + 4096 + 7 and read back what the main thread wrote before it started.
  t.is(vm.host.read(hva + 4096 + 7, 1)[0], 0xab);
  t.is(vm.readGuest(0x100000 + 4096 + 7, 1)[0], 0xab, 'the guest sees the worker\'s write through the slot');
  t.deepEqual(msg.read, [0, 0]);
  // Its DONTNEED of page 2 went through the notifier of its own view, into the shared mmu_invalidate_seq.
  t.is(vm.shared.ctl.mmuInvalidateSeq(), seq0 + 1);
  t.false(vm.host.isPresent(hva + 2 * 4096));
  t.deepEqual(ranges, [], 'the main thread\'s handler only sees invalidations made through its own view');
  t.is(vm.shared.ctl.mmuInvalidateInProgress(), 0);
});
