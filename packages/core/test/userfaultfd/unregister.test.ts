/**
 * UFFDIO_UNREGISTER wakes the faulters blocked in the range it unregisters (so that they do not
 * hang), and they fault again without the uffd: an anonymous read gets the zero page, a write a new
 * zeroed page, a memfd page the page cache's. Faulters outside the range stay blocked.
 */
import test from 'ava';
import { UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING } from '@vcpu-rt/core';
import { throwsKvm } from '../vm/_helpers.js';
import { blockOn, Faulter, newUffd, newVm, noBlock, ok, P, patternPage, sleep, type FaulterOp } from './_helpers.js';

test('UFFDIO_UNREGISTER wakes the blocked faulters of its range, which then fault normally (anonymous: zero page)', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const base = h.mmap(4 * P);
  u.register(base, 4 * P, UFFDIO_REGISTER_MODE_MISSING);
  const ops: FaulterOp[] = [
    { op: 'read', addr: base + 16, len: 8 },
    { op: 'write', addr: base + P + 16, bytes: [1, 2, 3] },
    { op: 'read', addr: base + 2 * P, len: 8 },
    { op: 'read', addr: base + 3 * P, len: 8 },
  ];
  const fs: Faulter[] = [];
  for (const o of ops) {
    const f = await Faulter.start(t, vm, [o]);
    fs.push(f);
    await blockOn(u, f, 'the fault');
  }
  t.is(u.read(2).length, 2); // faulters 0 and 1 now on fault_wqh
  await sleep(30);
  t.true(fs.every((f) => f.done === 0));
  const before = u.stats();

  u.unregister(base, 3 * P);
  t.deepEqual((await ok(fs[0], 0)).bytes, new Array<number>(8).fill(0), 'a read fault: the zero page');
  await ok(fs[1], 0);
  t.deepEqual([...h.read(base + P + 15, 5)], [0, 1, 2, 3, 0], 'a write fault: a new zeroed page with the write');
  t.deepEqual((await ok(fs[2], 0)).bytes, new Array<number>(8).fill(0));
  t.false(h.isPresent(base), 'a read of anonymous memory maps nothing (the zero page)');
  t.true(h.isPresent(base + P));
  const s = u.stats();
  t.is(s.wakes.woken - before.wakes.woken, 3);
  t.is(s.faults, 4, 'the woken faulters did not fault to the uffd again');

  await sleep(50);
  t.is(fs[3].done, 0, 'the faulter outside the unregistered range is still blocked');
  t.deepEqual([s.queues.pending, s.queues.fault], [1, 0]);
  u.copy(base + 3 * P, patternPage(base + 3 * P));
  t.deepEqual((await ok(fs[3], 0)).bytes, [...patternPage(base + 3 * P).subarray(0, 8)]);
  noBlock(h, () => t.deepEqual([...h.read(base + 2 * P, 2)], [0, 0]));
  throwsKvm(t, () => u.copy(base, patternPage(base)), 'ENOENT', 'is not in a range registered with this userfaultfd');
});

test('UFFDIO_UNREGISTER of a MINOR range wakes its faulters onto the page cache\'s page', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const fd = h.memfdCreate(P);
  const a = h.mmap(P, { memfd: fd });
  const b = h.mmap(P, { memfd: fd });
  h.write(b, patternPage(b));
  u.register(a, P, UFFDIO_REGISTER_MODE_MINOR);
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a + 100, len: 4 }]);
  await blockOn(u, f, 'the minor fault');
  u.unregister(a, P);
  t.deepEqual((await ok(f, 0)).bytes, [...patternPage(b).subarray(100, 104)]);
  t.true(h.isPresent(a));
});

test('UFFDIO_UNREGISTER of a range with nothing registered is a no-op that wakes nobody', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const a = h.mmap(2 * P);
  u.register(a + P, P, UFFDIO_REGISTER_MODE_MISSING);
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a + P, len: 1 }]);
  await blockOn(u, f, 'the fault');
  const before = u.stats();
  u.unregister(a, P);
  await sleep(50);
  t.is(f.done, 0);
  t.deepEqual([u.stats().wakes.walks, u.stats().wakes.skipped], [before.wakes.walks, before.wakes.skipped]);
  u.unregister(a + P, P);
  t.deepEqual((await ok(f, 0)).bytes, [0]);
});
