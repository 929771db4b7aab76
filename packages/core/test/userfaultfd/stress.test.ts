/**
 * userfaultfd under real concurrency: faulting worker threads read pages of one registered range
 * while resolver worker threads run demand_paging_test's handler loop (poll, read, UFFDIO_COPY;
 * EEXIST followed by UFFDIO_WAKE). Every byte must arrive, nobody may hang, and the counters must
 * add up: every fault takes fault_pending_wqh.lock at least three times (enqueue, read, wake walk).
 */
import test, { type ExecutionContext } from 'ava';
import { Worker } from 'node:worker_threads';
import { UFFD_FEATURE_THREAD_ID, UFFDIO_REGISTER_MODE_MISSING, type Userfaultfd, type Vm } from '@vcpu-rt/core';
import { prng } from '../vm/_helpers.js';
import { STOP, type ResolverData, type ResolverResult } from '../fixtures/uffd-common.js';
import { Faulter, newUffd, newVm, ok, P, patternPage } from './_helpers.js';

const FAULTERS = 4;
const PAGES_PER_FAULTER = 64;
const RESOLVERS = 2;

/** Starts a resolver thread (fixtures/uffd-resolver) on `u`; stop() sets its STOP word and resolves with its counters. */
function startResolver(t: ExecutionContext, vm: Vm, u: Userfaultfd, batch: number): { stop: () => Promise<ResolverResult> } {
  const ctl = new SharedArrayBuffer(16);
  const data: ResolverData = { handle: vm.handle(), uffd: u.handle(), ctl, batch };
  const w = new Worker(new URL('../fixtures/uffd-resolver.js', import.meta.url), { workerData: data });
  t.teardown(() => w.terminate());
  const done = new Promise<ResolverResult>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`resolver exited with code ${code} before reporting`)));
  });
  done.catch(() => undefined); // surfaced by stop()
  return {
    stop: () => {
      Atomics.store(new Int32Array(ctl), STOP, 1);
      return done;
    },
  };
}

/** A random permutation of `list` (seeded). */
function shuffle<T>(list: T[], seed: number): T[] {
  const rnd = prng(seed);
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

interface Round {
  /** Pages of the registered range. */
  pages: number;
  /** Page indexes each faulter touches, in order. */
  plan: number[][];
  nonBlocking: boolean;
  batch: number;
}

/** One round: fresh VM and uffd, FAULTERS + RESOLVERS threads; returns the uffd's stats and the resolvers' counters. */
async function round(t: ExecutionContext, r: Round) {
  const vm = newVm(t, 32 << 20);
  const h = vm.host;
  const u = newUffd(t, h, UFFD_FEATURE_THREAD_ID, { nonBlocking: r.nonBlocking });
  const base = h.mmap(r.pages * P);
  u.register(base, r.pages * P, UFFDIO_REGISTER_MODE_MISSING);
  const resolvers = Array.from({ length: RESOLVERS }, () => startResolver(t, vm, u, r.batch));
  // Each faulter checks every byte of its pages, then checks them again (present now: no fault).
  const faulters = await Promise.all(r.plan.map((idx) => {
    const pages = idx.map((i) => base + i * P);
    return Faulter.start(t, vm, [{ op: 'check', pages }, { op: 'check', pages }], false);
  }));
  for (const f of faulters) {
    t.is((await ok(f, 0, 20_000)).mismatches, 0, 'every byte of every faulted page is the copied one');
    t.is((await ok(f, 1, 20_000)).mismatches, 0);
    await f.end();
  }
  const res = await Promise.all(resolvers.map((x) => x.stop()));
  const s = u.stats();
  for (let i = 0; i < r.pages; i++) {
    if (r.plan.some((p) => p.includes(i))) t.deepEqual(h.read(base + i * P, P), patternPage(base + i * P));
  }
  u.close();
  await vm.close();
  return { s, res };
}

test('4 faulters x 64 pages, 2 resolvers (wait, read, copy), 5 rounds: every byte right, no hang, the counters add up', async (t) => {
  t.timeout(60_000);
  const faultsTotal: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const plan = Array.from({ length: FAULTERS }, (_, w) =>
      shuffle(Array.from({ length: PAGES_PER_FAULTER }, (_, j) => w * PAGES_PER_FAULTER + j), rep * 31 + w));
    const { s, res } = await round(t, { pages: FAULTERS * PAGES_PER_FAULTER, plan, nonBlocking: rep % 2 === 1, batch: [1, 4, 16][rep % 3] });
    const faults = FAULTERS * PAGES_PER_FAULTER;
    faultsTotal.push(s.faults);
    t.is(s.faults, faults, `round ${rep}: one fault per page, none on the second pass`);
    t.is(s.messages, faults);
    t.is(s.copies, faults);
    t.is(res.reduce((n, x) => n + x.copies, 0), faults);
    t.is(res.reduce((n, x) => n + x.messages, 0), faults);
    t.is(s.eexist, 0, 'distinct pages: no page is copied twice');
    t.is(s.wakes.walks + s.wakes.skipped, faults, 'each copy ran wake_userfault once');
    // A faulter whose page was copied between its enqueue and its re-check dequeues itself: rarely, a copy wakes nobody.
    t.true(s.wakes.woken <= faults, `round ${rep}: ${s.wakes.woken} of ${faults} faulters woken by a copy`);
    t.true(s.locks.faultPendingWqh.acquisitions >= 3 * s.faults,
      `round ${rep}: fault_pending_wqh.lock taken ${s.locks.faultPendingWqh.acquisitions} times for ${s.faults} faults`);
    t.deepEqual([s.queues.pending, s.queues.fault], [0, 0]);
    t.true(s.queues.maxPending >= 1 && s.queues.maxPending <= FAULTERS);
    t.true(s.wakes.maxWalked >= 1 && s.wakes.maxWalked <= FAULTERS);
  }
  t.log(`faults per round ${faultsTotal.join(', ')}`);
});

test('4 faulters on overlapping pages, 2 resolvers: EEXIST answered with UFFDIO_WAKE, every byte right, no hang', async (t) => {
  t.timeout(60_000);
  const PAGES = 96;
  let eexist = 0;
  for (let rep = 0; rep < 3; rep++) {
    // Faulter w touches 64 of the 96 pages; each page is touched by two or three faulters, in different orders.
    const plan = Array.from({ length: FAULTERS }, (_, w) =>
      shuffle(Array.from({ length: 64 }, (_, j) => (w * 24 + j) % PAGES), 1000 + rep * 7 + w));
    const { s, res } = await round(t, { pages: PAGES, plan, nonBlocking: rep === 1, batch: [1, 8, 2][rep] });
    t.is(s.copies, PAGES, 'each page was copied exactly once');
    t.true(s.faults >= PAGES);
    const msgs = res.reduce((n, x) => n + x.messages, 0);
    t.is(msgs, s.messages);
    t.is(s.messages, s.copies + s.eexist, 'every message read was answered by a COPY or an EEXIST');
    t.is(res.reduce((n, x) => n + x.eexist, 0), s.eexist);
    t.is(res.reduce((n, x) => n + x.wakes, 0), s.eexist, 'every EEXIST was followed by a UFFDIO_WAKE');
    t.deepEqual([s.queues.pending, s.queues.fault], [0, 0]);
    eexist += s.eexist;
  }
  t.log(`EEXIST answers over 3 rounds: ${eexist}`);
});
