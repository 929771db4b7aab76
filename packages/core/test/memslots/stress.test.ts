/**
 * Concurrency: worker threads look slots up under the SRCU read lock while the main thread
 * creates, moves, flips flags of and deletes them. A reader must never see a torn slot (fields
 * from two versions) or a recycled one (a record freed and reused while it was inside).
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Kvm, KVM_MEM_LOG_DIRTY_PAGES, type MemslotImpl } from '@vcpu-rt/core';
import { NSLOTS, slotPlan, STRESS_SECONDS, type ReaderResult } from './stress-plan.js';

function randomInt(n: number): number {
  return Math.floor(Math.random() * n);
}

for (const impl of ['tree', 'array'] as MemslotImpl[]) {
  test(`${impl}: 2 worker readers never see a torn or recycled memslot while the main thread changes slots`, async (t) => {
    const vm = new Kvm().createVm({ memslots: impl, hostMemoryBytes: 1 << 20 });
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const workers = [0, 1].map(() => new Worker(new URL('../fixtures/memslot-reader.js', import.meta.url), {
      workerData: { handle: vm.handle(), stop: stop.buffer, impl },
    }));
    const results = workers.map((w) => new Promise<ReaderResult>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }));
    const present = new Map<number, { at: 0 | 1; flags: number }>();
    const counts = { create: 0, delete: 0, move: 0, flags: 0 };
    try {
      const end = performance.now() + STRESS_SECONDS * 1000;
      while (performance.now() < end) {
        const id = 1 + randomInt(NSLOTS);
        const p = slotPlan(id);
        const cur = present.get(id);
        const region = { slot: id, flags: 0, guestPhysAddr: 0, memorySize: p.npages * 4096, userspaceAddr: p.uaddr };
        if (!cur) {
          const at = randomInt(2) as 0 | 1;
          vm.setUserMemoryRegion({ ...region, guestPhysAddr: p.bases[at] * 4096 });
          present.set(id, { at, flags: 0 });
          counts.create++;
        } else {
          const r = randomInt(3);
          if (r === 0) {
            vm.setUserMemoryRegion({ ...region, memorySize: 0 });
            present.delete(id);
            counts.delete++;
          } else if (r === 1) {
            const at = (cur.at ^ 1) as 0 | 1;
            vm.setUserMemoryRegion({ ...region, flags: cur.flags, guestPhysAddr: p.bases[at] * 4096 });
            cur.at = at;
            counts.move++;
          } else {
            cur.flags ^= KVM_MEM_LOG_DIRTY_PAGES;
            vm.setUserMemoryRegion({ ...region, flags: cur.flags, guestPhysAddr: p.bases[cur.at] * 4096 });
            counts.flags++;
          }
        }
        // Yield now and then so the readers' messages and the test timeout stay serviced.
        if ((counts.create + counts.move) % 256 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      Atomics.store(stop, 0, 1);
    }
    const res = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));
    await vm.close();
    t.log(impl, counts, res.map((r) => ({ lookups: r.lookups, hits: r.hits, generations: r.generations })));
    for (const r of res) {
      t.deepEqual(r.violations, [], 'a reader saw an inconsistent memslot');
      t.true(r.lookups > 10_000, 'reader made too few lookups to mean anything');
      t.true(r.hits > 1000, 'reader hardly ever found a slot');
      t.true(r.invalidSeen + r.hits > 0);
      t.true(r.generations > 10, 'reader did not run concurrently with the changes');
    }
    t.true(counts.move > 100 && counts.delete > 100 && counts.create > 100 && counts.flags > 100);
  });
}
