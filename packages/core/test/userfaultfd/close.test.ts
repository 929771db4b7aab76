/**
 * close() (userfaultfd_release) wakes every waiter: faulters blocked in handle_userfault fail their
 * access with EFAULT (SIGBUS for a process), readers blocked in poll return; and the uffd's ranges
 * are unregistered, so the next access to a missing page is an ordinary fault.
 */
import test from 'ava';
import { attachUserfaultfd, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING } from '@vcpu-rt/core';
import { blockOn, Faulter, newUffd, newVm, ok, P, patternPage, sleep, until, type FaulterOp } from './_helpers.js';

test('close() wakes every blocked faulter, whose access fails with EFAULT; the range is then unregistered', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const base = h.mmap(8 * P);
  const fd = h.memfdCreate(2 * P);
  const reg = h.mmap(2 * P, { memfd: fd });
  const alias = h.mmap(2 * P, { memfd: fd });
  h.write(alias, patternPage(alias));
  u.register(base, 8 * P, UFFDIO_REGISTER_MODE_MISSING);
  u.register(reg, 2 * P, UFFDIO_REGISTER_MODE_MINOR);
  // Four faulters: a read, a write, a read whose message was read, and a minor fault. Each then
  // touches another page of the (by then unregistered) range.
  const plans: FaulterOp[][] = [
    [{ op: 'read', addr: base, len: 4 }, { op: 'read', addr: base + 4 * P, len: 4 }],
    [{ op: 'write', addr: base + P, bytes: [1, 2] }, { op: 'write', addr: base + 5 * P, bytes: [3, 4] }],
    [{ op: 'read', addr: base + 2 * P, len: 4 }, { op: 'read', addr: base + 6 * P, len: 4 }],
    [{ op: 'read', addr: reg, len: 4 }, { op: 'read', addr: reg + P, len: 4 }],
  ];
  const fs = await Promise.all(plans.map((ops) => Faulter.start(t, vm, ops)));
  for (let k = 0; k < fs.length; k++) {
    await blockOn(u, fs[k], `fault ${k}`);
    if (k === 2) t.is(u.read(1).length, 1); // faulter 0's message: now on fault_wqh
  }
  t.is(u.read(1).length, 1);
  t.deepEqual([u.stats().queues.pending, u.stats().queues.fault], [2, 2]);
  await sleep(30);
  t.true(fs.every((f) => f.done === 0));

  u.close();
  for (const [k, f] of fs.entries()) {
    const r = await f.result(0);
    t.false(r.ok, `faulter ${k}'s access failed`);
    if (!r.ok) {
      t.is(r.code, 'EFAULT');
      t.regex(r.message, /its userfaultfd was closed while the fault waited/);
    }
  }
  // The range is no longer registered: the next missing page is an ordinary fault, without blocking.
  for (const f of fs) f.go(2);
  t.deepEqual((await ok(fs[0], 1, 2000)).bytes, [0, 0, 0, 0], 'an anonymous read: the zero page');
  await ok(fs[1], 1, 2000);
  t.deepEqual([...h.read(base + 5 * P, 2)], [3, 4]);
  t.deepEqual((await ok(fs[2], 1, 2000)).bytes, [0, 0, 0, 0]);
  t.deepEqual((await ok(fs[3], 1, 2000)).bytes, [0, 0, 0, 0], 'a memfd page not in the page cache: a new zeroed page');
  t.false(h.isPresent(base), 'the failed faults populated nothing');
  t.false(h.isPresent(base + P));
  t.deepEqual([...h.read(base + P, 2)], [0, 0], 'the failed write wrote nothing');
  t.deepEqual([...h.read(reg, 4)], [...patternPage(alias).subarray(0, 4)], 'the minor page maps the page cache now');
  // And any uffd may take the range.
  const u2 = newUffd(t, h);
  t.notThrows(() => u2.register(base, 8 * P, UFFDIO_REGISTER_MODE_MISSING));
});

test('close() wakes readers blocked in poll, which return not readable', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const a = h.mmap(P);
  u.register(a, P, UFFDIO_REGISTER_MODE_MISSING);
  const readers = await Promise.all([0, 1, 2].map(() => Faulter.start(t, vm, [{ op: 'wait', uffd: u.handle(), timeoutMs: Infinity }])));
  for (const r of readers) r.go();
  await until('three readers parked on fd_wqh', () => u.stats().queues.readers === 3);
  await sleep(30);
  t.true(readers.every((r) => r.done === 0));
  u.close();
  for (const r of readers) t.is((await ok(r, 0, 2000)).value, false);
});

test('a fault after close() is ordinary: the range was unregistered before anyone could block on it', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const a = h.mmap(2 * P);
  u.register(a, 2 * P, UFFDIO_REGISTER_MODE_MISSING);
  u.close();
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a, len: 2 }, { op: 'write', addr: a + P, bytes: [5] }], false);
  t.deepEqual((await ok(f, 0, 2000)).bytes, [0, 0]);
  await ok(f, 1, 2000);
  t.is(h.read(a + P, 1)[0], 5);
});

test('a handle of a closed uffd stays closed when a new uffd reuses its context: its close() does not close the new one', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const a = h.mmap(2 * P);
  const u = newUffd(t, h);
  const handle = u.handle();
  u.close();
  const fresh = newUffd(t, h);
  t.is(fresh.handle().ctx, handle.ctx, 'the new uffd took the freed context');
  fresh.register(a, 2 * P, UFFDIO_REGISTER_MODE_MISSING);
  // A thread still holding the old handle attaches and closes it, as a process closes a stale fd.
  const stale = await Faulter.start(t, vm, [{ op: 'wait', uffd: handle, timeoutMs: 0 }]);
  stale.go();
  const r = await stale.result(0);
  t.false(r.ok);
  if (!r.ok) t.is(r.code, 'EINVAL');
  attachUserfaultfd(handle, h).close();
  // The new uffd is still open and still owns its range: a fault there blocks until it resolves it.
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a, len: 1 }]);
  await blockOn(fresh, f, 'the fault on the new uffd');
  t.is(fresh.read()[0]?.address, a);
  fresh.copy(a, patternPage(a));
  t.deepEqual((await ok(f, 0)).bytes, [patternPage(a)[0]]);
});
