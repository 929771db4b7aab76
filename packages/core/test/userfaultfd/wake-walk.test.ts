/**
 * __wake_userfault is O(blocked waiters): under fault_pending_wqh.lock it visits every entry of
 * fault_pending_wqh and then, under fault_wqh.lock, every entry of fault_wqh, range-checking each
 * (uffd entries are non-exclusive, so __wake_up_common never stops early). stats().wakes counts the
 * entries visited; with B workers blocked on B pages, one wake of one page visits all B.
 */
import test from 'ava';
import { UFFDIO_REGISTER_MODE_MISSING, type UffdStats } from '@vcpu-rt/core';
import { blockOn, Faulter, newUffd, newVm, ok, P, patternPage, sleep, until } from './_helpers.js';

const B = 6;

/** Acquisitions of fault_pending_wqh.lock and fault_wqh.lock between `a` and `b`. */
const acq = (a: UffdStats, b: UffdStats) => [
  b.locks.faultPendingWqh.acquisitions - a.locks.faultPendingWqh.acquisitions,
  b.locks.faultWqh.acquisitions - a.locks.faultWqh.acquisitions,
];

for (const readFirst of [0, 2, B]) {
  test(`one COPY visits all ${B} blocked waiters (${readFirst} read onto fault_wqh, ${B - readFirst} pending) and wakes only its own`, async (t) => {
    const vm = newVm(t);
    const h = vm.host;
    const u = newUffd(t, h);
    const base = h.mmap(B * P);
    u.register(base, B * P, UFFDIO_REGISTER_MODE_MISSING);
    const fs = await Promise.all(Array.from({ length: B }, (_, k) => Faulter.start(t, vm, [{ op: 'read', addr: base + k * P, len: 8 }])));
    for (let k = 0; k < B; k++) {
      await blockOn(u, fs[k], `fault ${k}`);
    }
    if (readFirst) t.deepEqual(u.read(readFirst).map((m) => m.address), Array.from({ length: readFirst }, (_, k) => base + k * P));
    const s0 = u.stats();
    t.deepEqual([s0.queues.pending, s0.queues.fault], [B - readFirst, readFirst]);
    t.deepEqual([s0.wakes.walks, s0.wakes.maxWalked, s0.wakes.walked], [0, 0, 0]);

    // Page 0: the oldest fault (on fault_wqh when anything was read).
    u.copy(base, patternPage(base));
    const s1 = u.stats();
    t.is(s1.wakes.walks, 1);
    t.is(s1.wakes.maxWalked, B, 'the walk visited every queued waiter of both queues');
    t.true(s1.wakes.maxWalked >= B);
    t.is(s1.wakes.walked, B);
    t.is(s1.wakes.woken, 1, 'and woke only the one in range');
    t.deepEqual(acq(s0, s1), [1, readFirst ? 1 : 0], 'under fault_pending_wqh.lock, and fault_wqh.lock when that list is not empty');
    t.deepEqual((await ok(fs[0], 0)).bytes, [...patternPage(base).subarray(0, 8)]);
    await sleep(50);
    t.deepEqual(fs.map((f) => f.done), [1, ...new Array<number>(B - 1).fill(0)], 'everyone else is still blocked');
    t.is(u.stats().queues.pending + u.stats().queues.fault, B - 1);

    // The newest fault (still pending unless everything was read): a walk of the B - 1 left.
    u.copy(base + (B - 1) * P, patternPage(base + (B - 1) * P));
    const s2 = u.stats();
    t.deepEqual([s2.wakes.walks, s2.wakes.walked, s2.wakes.maxWalked, s2.wakes.woken], [2, 2 * B - 1, B, 2]);
    await ok(fs[B - 1], 0);

    // One ZEROPAGE over the rest: one walk, every remaining waiter woken by it.
    u.zeropage(base + P, (B - 2) * P);
    const s3 = u.stats();
    t.deepEqual([s3.wakes.walks, s3.wakes.walked, s3.wakes.woken], [3, 3 * B - 3, B]);
    t.is(s3.wakes.meanWalked, (3 * B - 3) / 3);
    for (let k = 1; k < B - 1; k++) t.deepEqual((await ok(fs[k], 0)).bytes, new Array<number>(8).fill(0));
    t.deepEqual([s3.queues.pending, s3.queues.fault, s3.queues.maxPending], [0, 0, B]);
  });
}

test('with one waiter the walk visits 1; with none, wake_userfault skips the walk (and its lock)', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const base = h.mmap(2 * P);
  u.register(base, 2 * P, UFFDIO_REGISTER_MODE_MISSING);
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: base, len: 1 }]);
  await blockOn(u, f, 'the fault');
  u.copy(base, patternPage(base));
  await ok(f, 0);
  const s1 = u.stats();
  t.deepEqual([s1.wakes.walks, s1.wakes.walked, s1.wakes.maxWalked, s1.wakes.woken, s1.wakes.skipped], [1, 1, 1, 1, 0]);
  u.copy(base + P, patternPage(base + P));
  u.wake(base, 2 * P);
  const s2 = u.stats();
  t.deepEqual([s2.wakes.walks, s2.wakes.skipped], [1, 2], 'nobody queued: no walk');
  t.deepEqual(acq(s1, s2), [0, 0], 'and no lock');
});

test('the walk is per uffd: waiters of another uffd are not visited', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u1 = newUffd(t, h);
  const u2 = newUffd(t, h);
  const a = h.mmap(3 * P);
  const b = h.mmap(2 * P);
  u1.register(a, 3 * P, UFFDIO_REGISTER_MODE_MISSING);
  u2.register(b, 2 * P, UFFDIO_REGISTER_MODE_MISSING);
  const addrs = [a, a + P, a + 2 * P, b, b + P];
  const fs = await Promise.all(addrs.map((x) => Faulter.start(t, vm, [{ op: 'read', addr: x, len: 1 }])));
  for (const f of fs) f.go();
  await until('all faults', () => u1.stats().queues.pending === 3 && u2.stats().queues.pending === 2);
  u1.copy(a, patternPage(a));
  t.deepEqual([u1.stats().wakes.maxWalked, u2.stats().wakes.walks], [3, 0]);
  u2.zeropage(b, 2 * P);
  t.deepEqual([u2.stats().wakes.maxWalked, u2.stats().wakes.woken], [2, 2]);
  u1.zeropage(a + P, 2 * P);
  for (const f of fs) await ok(f, 0);
});
