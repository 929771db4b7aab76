/**
 * Port of tools/testing/selftests/kvm/memslot_modification_stress_test.c (reference §2, [MMST]):
 * vCPUs run a memstress guest over their own 2 MiB of slot 1 while the main thread adds and deletes a
 * one-page dummy slot 7 just below it, over and over, for about two seconds. Every KVM_RUN must
 * return a ucall sync (no failure, no other exit), and afterwards the guests' data must be intact.
 */
import test from 'ava';
import { KVM_EXIT_IO, PAGE_SIZE } from '@vcpu-rt/core';
import type { KvmExit, Vcpu } from '@vcpu-rt/vcpu';
import { memstressValue } from './fixtures/memstress.js';
import { addSlot, deleteSlot, describe, fixture, MiB, newVm, spawn, u64, within } from './_helpers.js';

const NR_VCPUS = 2;
const VCPU_MEM = 2 * MiB;
const PAGES = VCPU_MEM / PAGE_SIZE;
const TEST_GPA = 0x40000000;
const DUMMY_MEMSLOT_INDEX = 7;
const CHURN_MS = 1800;

for (const memslots of ['tree', 'array'] as const) {
  test(`memslot_modification_stress_test: ${NR_VCPUS} vCPUs of memstress while slot ${DUMMY_MEMSLOT_INDEX} is added and deleted (${memslots} memslots)`, async (t) => {
    const vm = newVm(t, { memslots });
    const hva = addSlot(vm, { slot: 1, gpa: TEST_GPA, size: NR_VCPUS * VCPU_MEM });
    const vcpus: Vcpu[] = [];
    for (let i = 0; i < NR_VCPUS; i++) {
      vcpus.push(await spawn(t, vm, i, { guest: fixture('memstress', 'memstressGuest'), args: { gpa: TEST_GPA + i * VCPU_MEM, pages: PAGES } }));
    }

    let stop = false;
    let churning = false;
    const bad: string[] = [];
    const passesDuringChurn = new Array<number>(NR_VCPUS).fill(0);
    const lastPass = new Array<number>(NR_VCPUS).fill(0);
    // vcpu_worker: run until the stop signal; every exit must be UCALL_SYNC.
    const workers = vcpus.map(async (vcpu, i) => {
      while (!stop) {
        let exit: KvmExit;
        try {
          exit = await vcpu.run();
        } catch (e) {
          bad.push(`vCPU ${i}: KVM_RUN failed: ${String(e)}`);
          return;
        }
        if (exit.reason !== KVM_EXIT_IO || exit.ucall.cmd !== 'sync') {
          bad.push(`vCPU ${i}: invalid guest sync status: ${describe(exit)}`);
          return;
        }
        lastPass[i] = Number(exit.ucall.values[0]);
        if (churning) passesDuringChurn[i]++;
      }
    });

    // add_remove_memslot: the dummy slot just below the memstress slot, added and deleted in a loop.
    const gpa = TEST_GPA - PAGE_SIZE;
    let modifications = 0;
    churning = true;
    const end = Date.now() + CHURN_MS;
    while (Date.now() < end && bad.length === 0) {
      const dummy = addSlot(vm, { slot: DUMMY_MEMSLOT_INDEX, gpa, size: PAGE_SIZE });
      deleteSlot(vm, DUMMY_MEMSLOT_INDEX);
      vm.host.munmap(dummy, PAGE_SIZE);
      modifications++;
      await new Promise((r) => setImmediate(r));
    }
    churning = false;
    stop = true;
    await within(Promise.all(workers), 10_000, 'the vCPU workers to stop');

    t.log(`${modifications} add/delete pairs of slot ${DUMMY_MEMSLOT_INDEX}; passes during them: ${passesDuringChurn.join(', ')}`);
    t.deepEqual(bad, [], 'every KVM_RUN returned a ucall sync');
    t.true(modifications >= 100, `slot ${DUMMY_MEMSLOT_INDEX} was added and deleted ${modifications} times`);
    for (let i = 0; i < NR_VCPUS; i++) t.true(passesDuringChurn[i] >= 2, `vCPU ${i} completed ${passesDuringChurn[i]} passes during the churn`);
    t.deepEqual(vm.memslots().map((s) => s.id), [1], 'the dummy slot is gone');

    // Each vCPU is parked in the GUEST_SYNC after pass lastPass[i]: its region holds that pass's values.
    let wrong = 0;
    for (let i = 0; i < NR_VCPUS; i++) {
      const host = vm.host.read(hva + i * VCPU_MEM, VCPU_MEM);
      const guest = vm.readGuest(TEST_GPA + i * VCPU_MEM, VCPU_MEM);
      for (let p = 0; p < PAGES; p++) {
        const want = memstressValue(i, lastPass[i], p);
        if (u64(host, p * PAGE_SIZE) !== want || u64(guest, p * PAGE_SIZE) !== want) wrong++;
      }
    }
    t.is(wrong, 0, 'every page holds the value its vCPU wrote in its last pass');
  });
}
