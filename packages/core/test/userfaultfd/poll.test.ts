/**
 * poll/epoll_wait on a uffd (wait()): readers park on fd_wqh and a fault wakes them
 * (wake_up_poll(&ctx->fd_wqh, EPOLLIN) = __wake_up_common with nr_exclusive 1): every non-exclusive
 * reader, and one exclusive reader (add_wait_queue_exclusive queues those at the tail, so the walk
 * meets every non-exclusive entry first and stops after the oldest exclusive one).
 */
import test, { type ExecutionContext } from 'ava';
import { UFFDIO_REGISTER_MODE_MISSING } from '@vcpu-rt/core';
import { Faulter, newUffd, newVm, ok, P, patternPage, sleep, until } from './_helpers.js';

/**
 * Parks one reader per entry of `exclusive`, in order, then faults once, and checks that exactly the
 * readers marked in `expected` return (each finding the fault readable) while the others stay parked.
 */
async function faultWithReaders(t: ExecutionContext, exclusive: boolean[], expected: boolean[]): Promise<void> {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const a = h.mmap(P);
  u.register(a, P, UFFDIO_REGISTER_MODE_MISSING);
  const readers: Faulter[] = [];
  for (const ex of exclusive) {
    const r = await Faulter.start(t, vm, [{ op: 'wait', uffd: u.handle(), timeoutMs: Infinity, exclusive: ex }]);
    readers.push(r);
    r.go();
    await until('the reader to park', () => u.stats().queues.readers === readers.length);
  }
  t.false(u.readable());
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a, len: 1 }]);
  f.go();
  await until('the fault', () => u.stats().faults === 1);
  const n = expected.filter(Boolean).length;
  await until(`${n} readers to return`, () => readers.filter((r) => r.done === 1).length >= n);
  await sleep(100); // time for a reader woken in excess to return too
  const woken = readers.map((r) => r.done === 1);
  t.deepEqual(woken, expected, 'which readers the fault woke');
  for (const [k, r] of readers.entries()) if (woken[k]) t.true((await ok(r, 0)).value, 'a woken reader finds the fault readable');
  t.is(u.stats().readerWakeups, woken.filter(Boolean).length);
  t.is(u.stats().queues.readers, woken.filter((w) => !w).length);
  // Resolve, then release the readers still parked.
  u.copy(a, patternPage(a));
  await ok(f, 0);
  u.close();
  for (const [k, r] of readers.entries()) if (!woken[k]) t.false((await ok(r, 0)).value);
}

test('a fault wakes every non-exclusive reader parked in poll (today\'s kernel: a thundering herd)', async (t) => {
  await faultWithReaders(t, [false, false, false], [true, true, true]);
});

test('a fault wakes one exclusive reader, the one that parked first', async (t) => {
  await faultWithReaders(t, [true, true, true], [true, false, false]);
});

test('with both kinds parked, a fault wakes every non-exclusive reader and the oldest exclusive one', async (t) => {
  await faultWithReaders(t, [false, true, false, true, false], [true, true, true, false, true]);
});

test('wait() returns at once when a fault is pending, and after its timeout when none is', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const a = h.mmap(P);
  u.register(a, P, UFFDIO_REGISTER_MODE_MISSING);
  const t0 = performance.now();
  t.false(u.wait(30));
  t.true(performance.now() - t0 >= 25);
  t.is(u.stats().queues.readers, 0, 'a reader that timed out is off fd_wqh');
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a, len: 1 }]);
  f.go();
  await until('the fault', () => u.readable());
  t.true(u.wait(10_000));
  t.true(u.wait(0));
  t.is(u.read().length, 1);
  t.false(u.wait(0), 'the message was read: nothing pending');
  u.zeropage(a, P);
  await ok(f, 0);
});
