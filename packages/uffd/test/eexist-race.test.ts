/**
 * The EEXIST race of ejc3/fcvm#817, with the package's real fault handler (serveFault):
 *
 *   1. a thread faults on a missing page of a registered range and sleeps in handle_userfault;
 *   2. a reader read()s its message — the waiter is refiled to fault_wqh, still asleep;
 *   3. someone else places the page with DONTWAKE (another handler, a prefetcher, the exit path):
 *      the page is present, but nobody woke the faulter;
 *   4. the reader now serves the message: its COPY / CONTINUE fails with EEXIST, which "proves the
 *      page is present, not that the faulter was woken". Unless the handler then issues
 *      UFFDIO_WAKE itself, the faulter sleeps forever (a vCPU hung in postcopy).
 *
 * Step 4 is serveFault(msg, uffd, server, layout, counters) from '@vcpu-rt/uffd', fed a minimal
 * PostcopyLayout and PageServer; everything else is '@vcpu-rt/core' directly.
 *
 * Without the explicit wake the faulter would sleep forever; these tests then fail by their 2 s
 * wake deadline instead of hanging. Checked by hand (at 3dfd202 and faf332b): with `uffd.wake(page, 4096);` in
 * src/handler/fault-handler.ts commented out and the package rebuilt, both race tests failed with
 * "the faulter was not woken within 2000 ms … still asleep 5 s later" (teardown then closes the
 * uffd, which releases the faulter with EFAULT: nothing hangs), while the no-race control passed; with
 * the line restored all three pass and the faulter wakes within a few ms of serveFault.
 */
import { Worker } from 'node:worker_threads';
import test, { type ExecutionContext } from 'ava';
import {
  Kvm, UFFD_PAGEFAULT_FLAG_MINOR, UFFD_PAGEFAULT_FLAG_WRITE, UFFDIO_CONTINUE_MODE_DONTWAKE, UFFDIO_COPY_MODE_DONTWAKE,
  UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, type UffdMsg, type Userfaultfd, type Vm,
} from '@vcpu-rt/core';
import { PageServer, serveFault, type PageServerHandle, type PostcopyLayout } from '@vcpu-rt/uffd';
import { RUN_COUNTER_WORDS, RUN_READER_EEXIST, RUN_READER_RESOLVED, RUN_READER_WAKES } from '#internal/layout.js';
import { PAGE_SERVER_STAT_WORDS } from '#internal/source/page-server.js';
import type { EexistFaulterData } from './fixtures/eexist-faulter.js';

const P = 4096;
const PAGES = 4;
const TARGET = 2; // the page the faulter touches
const OFF = 100; // where in it
const LEN = 64;
const WAKE_DEADLINE_MS = 2000;
/** The faulter faults this long after it started: the test parks in poll (uffd.wait) first. */
const FAULT_DELAY_MS = 200;
// The faulter's ctl words (as in fixtures/eexist-faulter.ts).
const STARTED = 0;
const DONE = 1;

const faulterUrl = new URL('./fixtures/eexist-faulter.js', import.meta.url);

/** Byte i of page p of the source. */
function srcByte(p: number, i: number): number {
  return (p * 37 + i * 11 + (i >> 8) + 5) & 0xff;
}

/** The source's pages, as the migration source's snapshot would hold them. */
function snapshot(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(PAGES * P);
  const b = new Uint8Array(sab);
  for (let p = 0; p < PAGES; p++) for (let i = 0; i < P; i++) b[p * P + i] = srcByte(p, i);
  return sab;
}

interface Setup {
  vm: Vm;
  uffd: Userfaultfd;
  hva: number;
  server: PageServer;
  layout: PostcopyLayout;
  counters: Int32Array;
}

/** A VM's host memory, PAGES pages registered with a uffd in `mode`, and a minimal layout/server for serveFault. */
function setup(t: ExecutionContext, mode: 'missing' | 'minor'): Setup {
  const vm = new Kvm().createVm({ hostMemoryBytes: 16 << 20 });
  const snap = snapshot();
  let hva: number;
  if (mode === 'minor') {
    // The page cache holds the pages (written through an alias mapping); the registered mapping has no PTEs.
    const fd = vm.host.memfdCreate(PAGES * P);
    hva = vm.host.mmap(PAGES * P, { memfd: fd });
    const alias = vm.host.mmap(PAGES * P, { memfd: fd });
    vm.host.write(alias, new Uint8Array(snap));
  } else {
    hva = vm.host.mmap(PAGES * P);
  }
  const uffd = vm.host.userfaultfd({ nonBlocking: true });
  uffd.api(0);
  uffd.register(hva, PAGES * P, mode === 'missing' ? UFFDIO_REGISTER_MODE_MISSING : UFFDIO_REGISTER_MODE_MINOR);
  const serverHandle: PageServerHandle = { snapshot: snap, stats: new SharedArrayBuffer(PAGE_SERVER_STAT_WORDS * 4), fetchLatencyUs: 0 };
  const counters = new Int32Array(new SharedArrayBuffer(RUN_COUNTER_WORDS * 4));
  const layout: PostcopyLayout = {
    vm: vm.handle(), gpa: 2 ** 32, hva, pages: PAGES, pagesPerUffd: PAGES, mode, uffds: [uffd.handle()],
    server: serverHandle, claims: new SharedArrayBuffer(PAGES * 4), counters: counters.buffer as SharedArrayBuffer,
  };
  t.teardown(async () => {
    uffd.close(); // wakes a faulter still asleep (its read fails with EFAULT), so the worker can end
    await vm.close();
  });
  return { vm, uffd, hva, server: new PageServer(serverHandle, 0), layout, counters };
}

interface Faulter {
  ctl: Int32Array;
  out: Uint8Array;
  /** Resolves 'ok' once the read has returned (perhaps already), 'timed-out' if it has not after `ms`. */
  done(ms: number): Promise<'ok' | 'timed-out'>;
}

/** Starts the faulting thread on [addr, addr + LEN); resolves once it has started (it reads FAULT_DELAY_MS later). */
async function startFaulter(t: ExecutionContext, s: Setup, addr: number): Promise<Faulter> {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const out = new SharedArrayBuffer(LEN);
  const data: EexistFaulterData = { handle: s.vm.handle(), addr, len: LEN, delayMs: FAULT_DELAY_MS, ctl: ctl.buffer as SharedArrayBuffer, out };
  const w = new Worker(faulterUrl, { workerData: data });
  let error: Error | undefined;
  w.on('error', (e) => { error = e; });
  // Runs before setup's teardown (reverse order): a faulter still asleep is released by closing the
  // uffd (its read fails with EFAULT); terminate is the backstop.
  t.teardown(async () => {
    if (Atomics.load(ctl, DONE) === 0) s.uffd.close();
    await w.terminate();
  });
  const started = Atomics.waitAsync(ctl, STARTED, 0, 10_000);
  if (started.async) await started.value;
  if (error) throw error;
  t.is(Atomics.load(ctl, STARTED), 1, 'the faulter thread started');
  return {
    ctl, out: new Uint8Array(out),
    async done(ms) {
      // 'not-equal' (synchronous): the faulter finished before we started waiting.
      const r = Atomics.waitAsync(ctl, DONE, 0, ms);
      const v = r.async ? await r.value : r.value;
      return v === 'timed-out' ? 'timed-out' : 'ok';
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits (poll) until the faulter's message is pending on the uffd, and reads it. Returns whether the
 * faulter is known to have committed to sleeping: handle_userfault queues the message, re-checks the
 * page (userfaultfd_must_wait: a page placed in between makes it dequeue and retry, no wake needed),
 * and only then wakes the pollers on fd_wqh — so a poller woken by it (readerWakeups 1) knows the
 * faulter found the page missing and sleeps.
 */
async function readMessage(t: ExecutionContext, uffd: Userfaultfd): Promise<UffdMsg> {
  t.true(uffd.wait(10_000), 'the fault was queued and the uffd became readable');
  // The faulter counts the wake-up just after it notifies us: give the counter a moment.
  const deadline = performance.now() + 1000;
  while (uffd.stats().readerWakeups < 1 && performance.now() < deadline) await sleep(1);
  const committed = uffd.stats().readerWakeups >= 1;
  const msgs = uffd.read(4);
  t.is(msgs.length, 1, 'one message');
  if (!committed) {
    // The fault was pending before we parked (a slow start): give the faulter time to pass its re-check.
    t.log('the fault came before we parked in poll; waiting 200 ms for the faulter to reach its sleep');
    await sleep(200);
  }
  return msgs[0];
}


function expected(p: number): number[] {
  return Array.from({ length: LEN }, (_, i) => srcByte(p, OFF + i));
}

for (const mode of ['missing', 'minor'] as const) {
  test.serial(`EEXIST race (${mode.toUpperCase()}): serveFault hits EEXIST on a page placed with DONTWAKE and wakes the faulter itself`, async (t) => {
    t.timeout(30_000);
    const s = setup(t, mode);
    const page = s.hva + TARGET * P;
    const f = await startFaulter(t, s, page + OFF);

    // 1–2: the fault is queued; a reader takes the message, the faulter is refiled to fault_wqh, asleep.
    const msg = await readMessage(t, s.uffd);
    t.is(msg.address, page, 'the message names the page');
    t.is(msg.flags & UFFD_PAGEFAULT_FLAG_WRITE, 0, 'a read fault');
    t.is(msg.flags & UFFD_PAGEFAULT_FLAG_MINOR, mode === 'minor' ? UFFD_PAGEFAULT_FLAG_MINOR : 0);
    let st = s.uffd.stats();
    t.is(st.queues.pending, 0, 'nothing left pending');
    t.is(st.queues.fault, 1, 'the faulter sits on fault_wqh');

    // 3: a second resolver places the page without waking anyone.
    if (mode === 'missing') {
      const placed = s.uffd.copy(page, s.server.bytes, UFFDIO_COPY_MODE_DONTWAKE, TARGET * P, P);
      t.is(placed, P, 'UFFDIO_COPY with DONTWAKE placed the page');
    } else {
      t.is(s.uffd.continue(page, P, UFFDIO_CONTINUE_MODE_DONTWAKE), P, 'UFFDIO_CONTINUE with DONTWAKE mapped the page');
    }
    t.true(s.vm.host.isPresent(page), 'the page is present');
    await sleep(150);
    t.is(Atomics.load(f.ctl, DONE), 0, 'the faulter is still asleep: DONTWAKE woke nobody, and it does not re-check by itself');
    st = s.uffd.stats();
    t.is(st.queues.fault, 1, 'still on fault_wqh');
    t.is(st.wakes.woken, 0);

    // 4: the reader serves the message it read: EEXIST, then (the fix) UFFDIO_WAKE.
    const t0 = performance.now();
    t.notThrows(() => serveFault(msg, s.uffd, s.server, s.layout, s.counters), 'EEXIST is not an error for the handler');
    const woke = await f.done(WAKE_DEADLINE_MS);
    const ms = performance.now() - t0;
    if (woke !== 'ok') {
      // Lost or merely late? Say which, with the state of the queues and counters.
      const st2 = s.uffd.stats();
      const state = `uffd ${JSON.stringify({ eexist: st2.eexist, copies: st2.copies, continues: st2.continues, wakes: st2.wakes, queues: st2.queues })}; `
        + `counters eexist ${s.counters[RUN_READER_EEXIST]} wakes ${s.counters[RUN_READER_WAKES]} resolved ${s.counters[RUN_READER_RESOLVED]}`;
      const late = await f.done(5000);
      t.fail(`the faulter was not woken within ${WAKE_DEADLINE_MS} ms (no UFFDIO_WAKE after EEXIST?); ${late === 'ok' ? `it woke later, after ${(performance.now() - t0).toFixed(0)} ms` : 'still asleep 5 s later'}; ${state}`);
      return;
    }
    t.is(Atomics.load(f.ctl, DONE), 1, 'the faulter\'s read succeeded');
    t.log(`faulter woke ${ms.toFixed(1)} ms after serveFault`);
    t.deepEqual([...f.out], expected(TARGET), 'the faulter read the source\'s bytes');

    t.is(s.counters[RUN_READER_EEXIST], 1, 'the EEXIST was counted');
    t.is(s.counters[RUN_READER_WAKES], 1, 'the explicit wake was counted');
    t.is(s.counters[RUN_READER_RESOLVED], 0, 'serveFault did not resolve the page');
    st = s.uffd.stats();
    t.is(st.eexist, 1, 'the uffd saw one EEXIST');
    t.is(mode === 'missing' ? st.copies : st.continues, 1, 'the page was placed once');
    t.is(st.wakes.woken, 1, 'one thread woken, by UFFDIO_WAKE');
    t.is(st.queues.pending + st.queues.fault, 0, 'the fault queues are empty');
    t.false(s.vm.host.isPresent(s.hva + (TARGET + 1) * P), 'the neighbouring page was not touched');
  });
}

test.serial('EEXIST race control: without the race, serveFault resolves the page (COPY with wake) and needs no explicit wake', async (t) => {
  t.timeout(30_000);
  const s = setup(t, 'missing');
  const page = s.hva + TARGET * P;
  const f = await startFaulter(t, s, page + OFF);
  const msg = await readMessage(t, s.uffd);
  serveFault(msg, s.uffd, s.server, s.layout, s.counters);
  t.is(await f.done(WAKE_DEADLINE_MS), 'ok', 'the COPY woke the faulter');
  t.deepEqual([...f.out], expected(TARGET));
  t.is(s.counters[RUN_READER_RESOLVED], 1);
  t.is(s.counters[RUN_READER_EEXIST], 0);
  t.is(s.counters[RUN_READER_WAKES], 0);
  const st = s.uffd.stats();
  t.is(st.copies, 1);
  t.is(st.eexist, 0);
  t.is(st.wakes.woken, 1);
});
