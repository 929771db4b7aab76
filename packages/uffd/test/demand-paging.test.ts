/**
 * demand_paging_test (tools/testing/selftests/kvm/demand_paging_test.c, with Anish Moorthy's -w),
 * ported: every configuration runs the real threads of demandPaging — the migration source, a VM
 * whose guest memory is missing (MISSING: anonymous; MINOR: a prefaulted memfd page cache), one
 * uffd (-a) or one per vCPU, reader threads, vCPU threads touching every page once — and checks
 * that every page arrived intact, that the path the run claims to use is the one that served the
 * faults, and that the metrics add up. Small memory (1–2 MiB per vCPU): this is correctness, not
 * the benchmark.
 */
import test from 'ava';
import {
  DEMAND_PAGING_DEFAULTS, demandPaging, demandPagingOptions, MAX_READER_THREADS, MAX_REAL_VCPUS, MAX_WARMUP_ROUNDS, MIN_WARMUP_ROUNDS, warmedUp,
  type DemandPagingOptions,
} from '@vcpu-rt/uffd';
import { assertMetrics, MiB, runWithin, summary } from './_helpers.js';

const RUN_MS = 30_000;

interface Row {
  vcpus: number;
  bytesPerVcpu: number;
  mode: 'missing' | 'minor';
  singleUffd: boolean;
  readers: number | 'per-vcpu';
  exits: boolean;
}

function rowName(r: Row): string {
  return `-v ${r.vcpus} -b ${r.bytesPerVcpu / MiB}M -u ${r.mode.toUpperCase()}${r.singleUffd ? ' -a' : ''} -r ${r.readers}${r.exits ? ' -w' : ''}`;
}

const rows: Row[] = [];
for (const mode of ['missing', 'minor'] as const) {
  for (const singleUffd of [true, false]) {
    for (const readers of [1, 3]) {
      for (const exits of [false, true]) {
        rows.push({ vcpus: 2, bytesPerVcpu: readers === 1 ? 1 * MiB : 2 * MiB, mode, singleUffd, readers, exits });
      }
    }
  }
}
rows.push({ vcpus: 3, bytesPerVcpu: 1 * MiB, mode: 'minor', singleUffd: true, readers: 'per-vcpu', exits: false });
rows.push({ vcpus: 3, bytesPerVcpu: 1 * MiB, mode: 'missing', singleUffd: false, readers: 2, exits: true });

for (const row of rows) {
  test.serial(`demand_paging_test ${rowName(row)}: every page arrives intact, through the ${row.exits ? 'memory-fault-exit' : 'userfaultfd'} path`, async (t) => {
    t.timeout(RUN_MS + 15_000);
    const r = await runWithin(row, RUN_MS);
    const s = summary(r);
    const pages = row.vcpus * row.bytesPerVcpu / 4096;
    const nUffd = row.singleUffd ? 1 : row.vcpus;
    const readersPerUffd = row.readers === 'per-vcpu' ? row.vcpus : row.readers;

    t.like(r.options, row, 'the options the run used');
    t.is(r.verify.badPages, 0, `pages differing from the source: ${s}`);
    t.is(r.verify.wrongWords, 0, `words the guests read wrong: ${s}`);
    t.is(r.verify.pages, pages, 'every page was checked');
    t.is(r.pages, pages);
    t.is(r.readers.threads, readersPerUffd * nUffd, 'reader threads = readers per uffd × uffds');
    t.is(r.fetch.fetches, pages, `each page fetched once: ${s}`);
    // Both paths place the pages through the uffd: COPY for MISSING, CONTINUE for MINOR.
    t.is(row.mode === 'missing' ? r.uffd.copies : r.uffd.continues, pages, `pages placed: ${s}`);
    t.is(row.mode === 'missing' ? r.uffd.continues : r.uffd.copies, 0);

    if (row.exits) {
      t.is(r.exits.memoryFaults, pages, `one KVM_EXIT_MEMORY_FAULT per page: ${s}`);
      t.is(r.exits.resolved, pages, 'the vCPU threads resolved every page');
      t.is(r.exits.eexist, 0);
      t.is(r.uffd.faults, 0, `no thread blocked in handle_userfault: ${s}`);
      t.is(r.uffd.messages, 0);
      t.is(r.readers.resolved, 0, 'the readers had nothing to do');
      // DONTWAKE everywhere: the fault queues' lock is never taken and nothing is walked.
      t.is(r.uffd.wakes.walks, 0, `no wake walk: ${JSON.stringify(r.uffd.wakes)}`);
      t.is(r.uffd.locks.faultPendingWqh.acquisitions, 0, 'fault_pending_wqh.lock never taken');
      t.is(r.uffd.locks.faultWqh.acquisitions, 0, 'fault_wqh.lock never taken');
    } else {
      t.is(r.uffd.faults, pages, `one userfault per page: ${s}`);
      t.is(r.uffd.messages, pages, 'one message per page');
      t.is(r.exits.memoryFaults, 0, 'no memory-fault exits without -w');
      t.is(r.exits.resolved, 0);
      t.is(r.readers.resolved, pages, `the readers resolved every page: ${s}`);
      t.is(r.readers.eexist, 0, 'no EEXIST: every page has exactly one faulter');
      // Woken by the COPY/CONTINUE's walk, unless the faulter's post-enqueue re-check
      // (userfaultfd_must_wait) already found the page mapped and it dequeued itself.
      t.true(r.uffd.wakes.woken <= pages, `each faulter woken at most once: ${JSON.stringify(r.uffd.wakes)}`);
      t.is(r.uffd.queues.pending + r.uffd.queues.fault, 0, 'nobody left on the fault queues');
    }
    assertMetrics(t, r, row.vcpus, pages);
  });
}

for (const exits of [false, true]) {
  test.serial(`demand_paging_test -o (overlap) ${exits ? '-w' : 'uffd'}: all vCPUs touch the same memory, every page placed once`, async (t) => {
    t.timeout(RUN_MS + 15_000);
    const vcpus = 3;
    const bytesPerVcpu = 1 * MiB;
    // -o implies -a: one uffd, whatever singleUffd says.
    const r = await runWithin({ vcpus, bytesPerVcpu, mode: 'missing', singleUffd: false, readers: 2, exits, overlap: true }, RUN_MS);
    const s = summary(r);
    const memPages = bytesPerVcpu / 4096;
    const accesses = vcpus * memPages;
    t.is(r.verify.badPages, 0, `pages differing from the source: ${s}`);
    t.is(r.verify.wrongWords, 0, `words the guests read wrong: ${s}`);
    t.is(r.verify.pages, memPages, 'the shared region was checked');
    t.is(r.pages, accesses, 'pages counts every vCPU\'s pages (vcpus × bytesPerVcpu / 4096)');
    t.is(r.readers.threads, 2, 'one uffd (-o implies -a), 2 readers');
    t.is(r.uffd.copies, memPages, `every page placed exactly once: ${s}`);
    if (exits) {
      t.is(r.uffd.faults, 0, `no thread blocked in handle_userfault: ${s}`);
      t.true(r.exits.memoryFaults >= memPages && r.exits.memoryFaults <= accesses, `memory faults between ${memPages} and ${accesses}: ${s}`);
      t.is(r.exits.resolved + r.exits.eexist, memPages, 'one claim per page');
      t.is(r.fetch.fetches, memPages, 'one fetch per page: the losers of the claim waited');
    } else {
      t.is(r.exits.memoryFaults, 0);
      t.true(r.uffd.faults >= memPages && r.uffd.faults <= accesses, `userfaults between ${memPages} and ${accesses}: ${s}`);
      // A second faulter of a page may be woken by the first one's COPY before its message is read
      // (the wake walks fault_pending_wqh too), so messages <= faults; each message is served once.
      t.true(r.uffd.messages >= memPages && r.uffd.messages <= r.uffd.faults, `messages between ${memPages} and faults: ${s}`);
      t.is(r.readers.resolved, memPages, 'readers resolved every page once');
      t.is(r.readers.resolved + r.readers.eexist, r.uffd.messages, 'every message served: resolved or EEXIST');
      t.is(r.readers.wakes, r.readers.eexist, 'an explicit UFFDIO_WAKE after every EEXIST');
      t.is(r.uffd.eexist, r.readers.eexist);
      t.is(r.uffd.queues.pending + r.uffd.queues.fault, 0, 'nobody left on the fault queues');
    }
    assertMetrics(t, r, vcpus, accesses);
  });
}

for (const exits of [false, true]) {
  test.serial(`demand_paging_test fetchLatencyUs 200 ${exits ? '-w' : 'uffd'}: every fetch takes at least 200 µs, and so does every access`, async (t) => {
    t.timeout(RUN_MS + 15_000);
    const r = await runWithin({ vcpus: 2, bytesPerVcpu: 1 * MiB, mode: 'minor', singleUffd: true, readers: 2, exits, fetchLatencyUs: 200 }, RUN_MS);
    const pages = 2 * 256;
    t.is(r.verify.badPages + r.verify.wrongWords, 0, summary(r));
    t.is(r.options.fetchLatencyUs, 200, 'reported');
    t.is(r.fetch.fetches, pages);
    t.true(r.fetch.meanFetchUs >= 200, `mean fetch ${r.fetch.meanFetchUs} µs >= 200`);
    t.true(r.latency.p50Us >= 200, `median access latency ${r.latency.p50Us} µs >= the fetch latency`);
    t.is(exits ? r.exits.memoryFaults : r.uffd.faults, pages);
    assertMetrics(t, r, 2, pages);
  });
}

test.serial('demand_paging_test -d 300: the handler delay shows in every access', async (t) => {
  t.timeout(RUN_MS + 15_000);
  const r = await runWithin({ vcpus: 2, bytesPerVcpu: 1 * MiB, mode: 'missing', singleUffd: false, readers: 1, handlerDelayUs: 300 }, RUN_MS);
  t.is(r.verify.badPages + r.verify.wrongWords, 0, summary(r));
  t.is(r.uffd.faults, 512);
  t.true(r.latency.p50Us >= 300, `median access latency ${r.latency.p50Us} µs >= the handler delay`);
  t.is(r.fetch.meanFetchUs, 0, 'no fetch latency was asked for');
  assertMetrics(t, r, 2, 512);
});

for (const [mode, exits] of [['minor', false], ['minor', true], ['missing', false], ['missing', true]] as const) {
  test.serial(`demand_paging_test warm-up -u ${mode.toUpperCase()}${exits ? ' -w' : ''}: 32 warm-up pages per vCPU fault through the same path in rounds, zapped in between, outside the measured pass`, async (t) => {
    t.timeout(RUN_MS + 15_000);
    const vcpus = 2;
    const warmupPages = 32;
    // One uffd per vCPU: the warm-up regions share the last uffd, so its reader serves vCPU 0's warm-up too.
    // (-w fails at 3dfd202: exit-handler.ts picks uffds[floor(p / pagesPerUffd)], which is past the
    // last uffd for a warm-up page — TypeError "reading 'continue'" in the vCPU thread.)
    const r = await runWithin({ vcpus, bytesPerVcpu: 1 * MiB, mode, singleUffd: false, readers: 1, exits, warmupPages }, RUN_MS);
    const s = summary(r);
    const measured = vcpus * 256;
    const { rounds, bytesPerPage } = r.warmup;
    t.true(rounds >= MIN_WARMUP_ROUNDS && rounds <= MAX_WARMUP_ROUNDS, `warm-up rounds ${rounds}`);
    t.is(bytesPerPage.length, rounds, 'one allocation figure per round');
    const path = exits ? 'exit' : 'uffd';
    t.true(warmedUp(bytesPerPage, path), `the warm-up ended when warmedUp said so: ${bytesPerPage.join(', ')}`);
    t.false(warmedUp(bytesPerPage.slice(0, -1), path), 'and not a round earlier');
    // The warm-up regions are zapped between rounds, so each round faults every warm-up page again.
    const faulted = measured + vcpus * warmupPages * rounds;
    t.is(r.verify.badPages, 0, `pages differing from the source: ${s}`);
    t.is(r.verify.wrongWords, 0, `words the guests read wrong (warm-up included): ${s}`);
    t.is(r.pages, measured, 'pages: the measured pass only');
    t.is(r.verify.pages, measured + vcpus * warmupPages, 'verify covers the warm-up pages too');
    t.is(r.fetch.fetches, faulted, 'a fetch per fault, each round of the warm-up again');
    if (mode === 'minor') {
      t.is(r.uffd.continues, faulted, 'the page cache outlived each zap: CONTINUE, never COPY');
      t.is(r.uffd.copies, 0);
    } else {
      t.is(r.uffd.copies, faulted, 'each zap freed the anonymous pages: COPY again');
      t.is(r.uffd.continues, 0);
    }
    if (exits) {
      t.is(r.exits.memoryFaults, faulted, `every page exited once per pass over it: ${s}`);
      t.is(r.exits.resolved, faulted, 'the claims of the warm-up pages were released by each zap');
      t.is(r.exits.warmup, vcpus * warmupPages * rounds);
      t.is(r.uffd.faults, 0);
    } else {
      t.is(r.uffd.faults, faulted, `every page faulted once per pass over it: ${s}`);
      t.is(r.uffd.messages, faulted);
      t.is(r.readers.resolved, faulted);
      t.is(r.exits.memoryFaults, 0);
    }
    assertMetrics(t, r, vcpus, measured);
  });
}

const bad: [string, Record<string, unknown>, string][] = [
  ['vcpus 0', { vcpus: 0 }, 'vcpus'],
  [`vcpus ${MAX_REAL_VCPUS + 1}`, { vcpus: MAX_REAL_VCPUS + 1 }, 'vcpus'],
  ['vcpus 1.5', { vcpus: 1.5 }, 'vcpus'],
  ['bytesPerVcpu 1000', { bytesPerVcpu: 1000 }, 'bytesPerVcpu'],
  ['bytesPerVcpu 6000 (not a page multiple)', { bytesPerVcpu: 6000 }, 'bytesPerVcpu'],
  ["mode 'x'", { mode: 'x' }, 'mode'],
  ['readers 0', { readers: 0 }, 'readers'],
  [`readers ${MAX_READER_THREADS} × 2 uffds`, { vcpus: 2, singleUffd: false, readers: MAX_READER_THREADS }, 'readers'],
  ['singleUffd "yes"', { singleUffd: 'yes' }, 'singleUffd'],
  ['handlerDelayUs -1', { handlerDelayUs: -1 }, 'handlerDelayUs'],
  ["wake 'some'", { wake: 'some' }, 'wake'],
  ['warmupPages -1', { warmupPages: -1 }, 'warmupPages'],
  ['unknown key', { vcpuz: 2 }, 'vcpuz'],
];

for (const [name, opts, field] of bad) {
  test(`demand_paging_test options: ${name} is a RangeError naming ${field}`, async (t) => {
    const e = t.throws(() => demandPagingOptions(opts as Partial<DemandPagingOptions>), { instanceOf: RangeError });
    t.regex(e?.message ?? '', new RegExp(`\\b${field}\\b`), 'the message names the field');
    // demandPaging itself rejects the same way, before it starts any thread.
    await t.throwsAsync(demandPaging(opts as Partial<DemandPagingOptions>), { instanceOf: RangeError, message: new RegExp(`\\b${field}\\b`) });
  });
}

test('demand_paging_test options: defaults are table A\'s configuration, and -o implies one uffd for the reader bound', (t) => {
  t.deepEqual(demandPagingOptions({}), DEMAND_PAGING_DEFAULTS);
  t.like(DEMAND_PAGING_DEFAULTS, { mode: 'minor', singleUffd: true, readers: 'per-vcpu', exits: false, overlap: false, wake: 'all' });
  // 2 uffds × 256 readers is too many, but with -o there is one uffd.
  t.notThrows(() => demandPagingOptions({ vcpus: 2, singleUffd: false, overlap: true, readers: MAX_READER_THREADS }));
});
