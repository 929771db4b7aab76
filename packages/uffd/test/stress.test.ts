/**
 * demand_paging_test under stress, in real threads: 8 vCPUs and 4 readers on one uffd (12 threads
 * plus the source's pool on a 2-core machine: heavily oversubscribed, so every interleaving of
 * enqueue / read / refile / wake / the exit path's claims gets its chance), every combination of
 * mode × path × reader wake-up, 10 runs each. Every run must finish (a watchdog turns a hang into a
 * failure and tears the run down), with every page intact and every fault served exactly once.
 * Small memory (256 KiB per vCPU): what costs is starting threads, not faulting.
 */
import test from 'ava';
import type { DemandPagingOptions } from '@vcpu-rt/uffd';
import { KiB, runWithin, sum, summary } from './_helpers.js';

const VCPUS = 8;
const READERS = 4;
const BYTES_PER_VCPU = 256 * KiB;
const REPS = 10;
const RUN_MS = 20_000;
const PAGES = VCPUS * BYTES_PER_VCPU / 4096;

for (const mode of ['missing', 'minor'] as const) {
  for (const exits of [false, true]) {
    for (const wake of ['all', 'exclusive'] as const) {
      const name = `-v ${VCPUS} -b 256K -u ${mode.toUpperCase()} -a -r ${READERS}${exits ? ' -w' : ''} --wake ${wake}`;
      test.serial(`demand_paging_test stress ${name}: ${REPS} runs, no hang, every page intact`, async (t) => {
        t.timeout(REPS * RUN_MS);
        const t0 = performance.now();
        const failures: string[] = [];
        for (let rep = 0; rep < REPS; rep++) {
          const opts: Partial<DemandPagingOptions> = { vcpus: VCPUS, bytesPerVcpu: BYTES_PER_VCPU, mode, singleUffd: true, readers: READERS, exits, wake };
          const r = await runWithin(opts, RUN_MS); // a hang rejects (HangError) and fails the test here
          const s = summary(r);
          const u = r.uffd;
          const check = (ok: boolean, what: string) => { if (!ok) failures.push(`run ${rep}: ${what}: ${s}`); };
          check(r.verify.badPages === 0, 'pages differ from the source');
          check(r.verify.wrongWords === 0, 'the guests read wrong words');
          check(r.pages === PAGES && r.verify.pages === PAGES, 'page count');
          check(r.fetch.fetches === PAGES, 'one fetch per page');
          check((mode === 'missing' ? u.copies : u.continues) === PAGES, 'one placement per page');
          check(sum(r.latency.dist) === PAGES && r.blocktime.perVcpuUs.length === VCPUS, 'metrics');
          check(r.overallRate > 0, 'rate');
          if (exits) {
            check(r.exits.memoryFaults === PAGES && r.exits.resolved === PAGES && r.exits.eexist === 0, 'one exit and one resolution per page');
            check(u.faults === 0 && u.messages === 0 && u.readerWakeups === 0 && u.wakes.walks === 0, 'the uffd wait queues untouched');
          } else {
            check(r.exits.memoryFaults === 0, 'no exits');
            // One message per page: no fault is reported twice. faults may exceed the pages by the
            // entries whose userfaultfd_must_wait found the page mapped (they dequeue themselves
            // without a message); CI saw 513 faults for 512 pages once (how this configuration
            // produced one is not understood yet: docs/userfaultfd.md §5 lists it as open).
            check(u.messages === PAGES, 'one message per page');
            check(u.faults >= PAGES && u.faults <= PAGES + 8, 'one fault per page, give or take a must_wait re-check');
            // A faulter is woken by the reader's COPY/CONTINUE walk — or finds the page already mapped in
            // its post-enqueue re-check (userfaultfd_must_wait) and dequeues itself: so woken <= faults.
            check(u.wakes.woken <= u.faults && u.wakes.woken > 0, 'wake-ups');
            check(r.readers.resolved === PAGES && r.readers.eexist === 0, 'readers resolved every page');
            check(u.queues.pending === 0 && u.queues.fault === 0, 'fault queues empty');
            check(u.queues.maxReaders <= READERS, 'at most every reader parked at once');
            // A fault wakes every parked reader ('all', the thundering herd) or at most one ('exclusive').
            check(u.readerWakeups <= (wake === 'exclusive' ? 1 : READERS) * u.faults, `reader wake-ups (${u.readerWakeups}) within bound`);
          }
        }
        t.deepEqual(failures, [], failures.join('\n'));
        t.log(`${REPS} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      });
    }
  }
}
