/**
 * The memory-fault-exit path in real threads allocates nothing per fault: fault, exit, the
 * handler's claim and UFFDIO_CONTINUE, re-entry and refault, measured by the guest over its
 * measured pass (what a second, all-present pass allocates is taken off: the guest's own loop).
 * One vCPU, so that V8's compiler threads have a core: with more threads than cores the tiering
 * of a thread can still be under way in its measured pass (docs/postcopy.md §7).
 */
import test from 'ava';
import { demandPaging } from '@vcpu-rt/uffd';
import { MiB } from './_helpers.js';

for (const mode of ['minor', 'missing'] as const) {
  test.serial(`demand_paging_test -v 1 -b 16M -u ${mode.toUpperCase()} -w: the exit path allocates nothing per fault`, async (t) => {
    t.timeout(120_000);
    const figures: number[] = [];
    // The best of three: a run the JIT had not finished tiering still shows a few bytes per fault.
    for (let i = 0; i < 3; i++) {
      const r = await demandPaging({ vcpus: 1, bytesPerVcpu: 16 * MiB, mode, exits: true, readers: 1, warmupPages: 16384 });
      t.is(r.verify.badPages, 0);
      t.is(r.alloc.faultsMeasured, 4096);
      figures.push(r.alloc.bytesPerFault);
      if (r.alloc.bytesPerFault < 1) break;
    }
    t.log(`bytes per fault: ${figures.map((b) => b.toFixed(2)).join(', ')}`);
    t.true(Math.min(...figures) < 1, `bytes allocated per fault: ${figures.map((b) => b.toFixed(2)).join(', ')}`);
  });
}
