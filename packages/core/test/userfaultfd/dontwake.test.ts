/**
 * UFFDIO_COPY / ZEROPAGE / CONTINUE with *_MODE_DONTWAKE resolve the page but leave its faulter
 * asleep (no wake walk at all) until UFFDIO_WAKE covers its address; without DONTWAKE the same call
 * wakes it. The faulter is a worker thread blocked in handle_userfault.
 */
import test from 'ava';
import {
  UFFDIO_CONTINUE_MODE_DONTWAKE, UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING,
  UFFDIO_ZEROPAGE_MODE_DONTWAKE, type HostMemory, type Userfaultfd,
} from '@vcpu-rt/core';
import { blockOn, Faulter, newUffd, newVm, ok, P, patternPage, sleep, until } from './_helpers.js';

type Resolve = 'copy' | 'zeropage' | 'continue';

/** The page `resolve` fills at `page` (the page cache's content for CONTINUE). */
function expected(resolve: Resolve, page: number): Uint8Array {
  return resolve === 'zeropage' ? new Uint8Array(P) : patternPage(page);
}

function resolveOp(u: Userfaultfd, resolve: Resolve, page: number, mode: number): number {
  return resolve === 'copy' ? u.copy(page, patternPage(page), mode) : u[resolve](page, P, mode);
}

/** A one-page registration to fault on: anonymous MISSING, or for CONTINUE a MINOR memfd mapping whose page is cached. */
function setup(h: HostMemory, u: Userfaultfd, resolve: Resolve): { page: number; other: number } {
  if (resolve !== 'continue') {
    const a = h.mmap(2 * P);
    u.register(a, 2 * P, UFFDIO_REGISTER_MODE_MISSING);
    return { page: a, other: a + P };
  }
  const fd = h.memfdCreate(2 * P);
  const reg = h.mmap(2 * P, { memfd: fd });
  const alias = h.mmap(2 * P, { memfd: fd });
  h.write(alias, patternPage(reg));
  h.write(alias + P, patternPage(reg + P));
  u.register(reg, 2 * P, UFFDIO_REGISTER_MODE_MINOR);
  return { page: reg, other: reg + P };
}

const DONTWAKE: Record<Resolve, number> = {
  copy: UFFDIO_COPY_MODE_DONTWAKE, zeropage: UFFDIO_ZEROPAGE_MODE_DONTWAKE, continue: UFFDIO_CONTINUE_MODE_DONTWAKE,
};

for (const resolve of ['copy', 'zeropage', 'continue'] as const) {
  for (const readFirst of [false, true]) {
    const where = readFirst ? 'a read fault (on fault_wqh)' : 'an unread fault (on fault_pending_wqh)';
    test(`${resolve.toUpperCase()} with DONTWAKE leaves ${where} blocked; UFFDIO_WAKE then releases it onto the resolved page`, async (t) => {
      const vm = newVm(t);
      const h = vm.host;
      const u = newUffd(t, h);
      const { page, other } = setup(h, u, resolve);
      const f = await Faulter.start(t, vm, [{ op: 'read', addr: page + 8, len: 16 }]);
      await blockOn(u, f, 'the fault');
      if (readFirst) t.is(u.read().length, 1);
      const before = u.stats();

      t.is(resolveOp(u, resolve, page, DONTWAKE[resolve]), P);
      t.true(h.isPresent(page), 'the page is resolved');
      await sleep(120);
      t.is(f.started, 1);
      t.is(f.done, 0, 'the faulter has not returned 120 ms after a DONTWAKE resolution');
      const mid = u.stats();
      t.deepEqual([mid.wakes.walks, mid.wakes.skipped, mid.wakes.woken], [before.wakes.walks, before.wakes.skipped, 0], 'DONTWAKE runs no wake at all');
      t.is(mid.queues.pending + mid.queues.fault, 1, 'the faulter is still queued');

      // A wake of another page does not release it either; one of its page does.
      u.wake(other, P);
      await sleep(60);
      t.is(f.done, 0, 'a wake of another page leaves it blocked');
      u.wake(page, P);
      const r = await ok(f, 0);
      t.deepEqual(r.bytes, [...expected(resolve, page).subarray(8, 24)], 'it reads the resolved bytes');
      const s = u.stats();
      t.is(s.wakes.woken, 1);
      t.is(s.wakes.walks, before.wakes.walks + 2);
      t.deepEqual([s.queues.pending, s.queues.fault], [0, 0]);
      t.is(s.faults, 1, 'the retried access found the page: no second fault');
    });
  }

  test(`${resolve.toUpperCase()} without DONTWAKE wakes the faulter itself`, async (t) => {
    const vm = newVm(t);
    const h = vm.host;
    const u = newUffd(t, h);
    const { page } = setup(h, u, resolve);
    const f = await Faulter.start(t, vm, [{ op: 'read', addr: page, len: 4 }]);
    await blockOn(u, f, 'the fault');
    t.is(resolveOp(u, resolve, page, 0), P);
    t.deepEqual((await ok(f, 0)).bytes, [...expected(resolve, page).subarray(0, 4)]);
    t.is(u.stats().wakes.woken, 1);
  });
}

test('UFFDIO_WAKE alone releases a faulter whose page is still missing: it faults again and queues a new message', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const a = h.mmap(P);
  u.register(a, P, UFFDIO_REGISTER_MODE_MISSING);
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a, len: 1 }]);
  await blockOn(u, f, 'the fault');
  t.is(u.read().length, 1);
  u.wake(a, P);
  await until('the second fault', () => u.stats().faults === 2 && u.stats().queues.pending === 1);
  t.is(f.done, 0);
  t.is(u.read().length, 1);
  u.copy(a, patternPage(a));
  t.deepEqual((await ok(f, 0)).bytes, [patternPage(a)[0]]);
});
