/**
 * What read() returns (userfaultfd_ctx_read): the messages of blocked faults in FIFO order, one or
 * several per call, with UFFD_PAGEFAULT_FLAG_WRITE for writes, _MINOR for minor faults, the
 * faulting thread's id with UFFD_FEATURE_THREAD_ID and the exact address with
 * UFFD_FEATURE_EXACT_ADDRESS. The faults come from worker threads, each blocked in handle_userfault.
 */
import test from 'ava';
import {
  UFFD_EVENT_PAGEFAULT, UFFD_FEATURE_EXACT_ADDRESS, UFFD_FEATURE_THREAD_ID, UFFD_PAGEFAULT_FLAG_MINOR, UFFD_PAGEFAULT_FLAG_WRITE,
  UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, type UffdMsg,
} from '@vcpu-rt/core';
import { blockOn, Faulter, newUffd, newVm, ok, P, patternPage, until, type FaulterOp } from './_helpers.js';

const WRITE = UFFD_PAGEFAULT_FLAG_WRITE;
const MINOR = UFFD_PAGEFAULT_FLAG_MINOR;

test('read() returns the faults in the order they were queued (FIFO), one per call or several, each once', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h, UFFD_FEATURE_THREAD_ID);
  const base = h.mmap(8 * P);
  u.register(base, 8 * P, UFFDIO_REGISTER_MODE_MISSING);
  // Not in address order, and alternating reads and writes.
  const plan = [{ page: 5, write: false }, { page: 1, write: true }, { page: 7, write: false }, { page: 3, write: true }, { page: 0, write: false }, { page: 6, write: false }];
  const ops = plan.map((p): FaulterOp => p.write
    ? { op: 'write', addr: base + p.page * P + 100, bytes: [0xab, 0xcd] }
    : { op: 'read', addr: base + p.page * P + 100, len: 4 });
  const fs = await Promise.all(ops.map((o) => Faulter.start(t, vm, [o])));
  for (let k = 0; k < fs.length; k++) {
    await blockOn(u, fs[k], `fault ${k}`);
  }
  t.is(u.stats().faults, plan.length);
  t.true(u.readable());

  const batches = [u.read(), u.read(1), u.read(2), u.read(10), u.read(10)];
  t.deepEqual(batches.map((b) => b.length), [1, 1, 2, 2, 0], 'read(max) returns at most max messages, and what is left');
  const msgs = batches.flat();
  t.deepEqual(msgs, plan.map((p, k): UffdMsg => ({
    event: UFFD_EVENT_PAGEFAULT, flags: p.write ? WRITE : 0, address: base + p.page * P, tid: fs[k].threadId,
  })), 'fault order, WRITE only for writes, the page address, the faulting thread');
  t.false(u.readable());
  const s = u.stats();
  t.is(s.messages, plan.length);
  t.deepEqual([s.queues.pending, s.queues.fault], [0, plan.length], 'read refiles every message onto fault_wqh');

  // Reading does not resolve anything: every faulter is still blocked.
  t.true(fs.every((f) => f.done === 0));
  for (const p of plan) u.copy(base + p.page * P, patternPage(base + p.page * P));
  for (let k = 0; k < plan.length; k++) {
    const r = await ok(fs[k], 0);
    const page = base + plan[k].page * P;
    if (plan[k].write) t.deepEqual([...h.read(page + 100, 2)], [0xab, 0xcd], 'the write landed on the copied page');
    else t.deepEqual(r.bytes, [...patternPage(page).subarray(100, 104)]);
  }
  t.deepEqual([u.stats().queues.pending, u.stats().queues.fault], [0, 0]);
});

test('FIFO holds when reads and faults interleave', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const base = h.mmap(4 * P);
  u.register(base, 4 * P, UFFDIO_REGISTER_MODE_MISSING);
  const order = [2, 0, 3, 1];
  const fs = await Promise.all(order.map((p) => Faulter.start(t, vm, [{ op: 'read', addr: base + p * P, len: 1 }])));
  const got: number[] = [];
  await blockOn(u, fs[0], 'one fault');
  await blockOn(u, fs[1], 'two faults');
  got.push(...u.read().map((m) => m.address));
  await blockOn(u, fs[2], 'three faults');
  got.push(...u.read().map((m) => m.address));
  await blockOn(u, fs[3], 'four faults');
  got.push(...u.read(8).map((m) => m.address));
  t.deepEqual(got, order.map((p) => base + p * P));
  u.zeropage(base, 4 * P);
  for (const f of fs) t.deepEqual((await ok(f, 0)).bytes, [0]);
});

/** One row per feature set: what tid and address a read fault at an offset and a write fault at another report. */
const FEATURES: Array<{ name: string; features: number }> = [
  { name: 'no features', features: 0 },
  { name: 'THREAD_ID', features: UFFD_FEATURE_THREAD_ID },
  { name: 'EXACT_ADDRESS', features: UFFD_FEATURE_EXACT_ADDRESS },
  { name: 'THREAD_ID | EXACT_ADDRESS', features: UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS },
];

for (const { name, features } of FEATURES) {
  const tid = (features & UFFD_FEATURE_THREAD_ID) !== 0;
  const exact = (features & UFFD_FEATURE_EXACT_ADDRESS) !== 0;
  test(`with ${name}: tid is ${tid ? 'the faulting worker\'s threadId' : '0'}, address is the ${exact ? 'exact' : 'page'} address`, async (t) => {
    const vm = newVm(t);
    const h = vm.host;
    const u = newUffd(t, h, features);
    const base = h.mmap(3 * P);
    u.register(base, 3 * P, UFFDIO_REGISTER_MODE_MISSING);
    const accesses = [
      { addr: base + P + 0x123, op: { op: 'read', addr: base + P + 0x123, len: 8 } as FaulterOp, flags: 0 },
      { addr: base + 2 * P + 0xff9, op: { op: 'write', addr: base + 2 * P + 0xff9, bytes: [7] } as FaulterOp, flags: WRITE },
      { addr: base, op: { op: 'read', addr: base, len: 1 } as FaulterOp, flags: 0 },
    ];
    const fs: Faulter[] = [];
    for (const a of accesses) {
      const f = await Faulter.start(t, vm, [a.op]);
      fs.push(f);
      await blockOn(u, f, 'the fault');
    }
    t.true(fs.every((f) => f.threadId > 0));
    t.deepEqual(u.read(8), accesses.map((a, k): UffdMsg => ({
      event: UFFD_EVENT_PAGEFAULT, flags: a.flags, address: exact ? a.addr : a.addr - (a.addr % P), tid: tid ? fs[k].threadId : 0,
    })));
    u.zeropage(base, 3 * P);
    for (const f of fs) await ok(f, 0);
    t.is(h.read(base + 2 * P + 0xff9, 1)[0], 7);
  });
}

test('a host access spanning two missing pages faults them one at a time, each at its own address', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h, UFFD_FEATURE_EXACT_ADDRESS);
  const base = h.mmap(2 * P);
  u.register(base, 2 * P, UFFDIO_REGISTER_MODE_MISSING);
  const f = await Faulter.start(t, vm, [{ op: 'read', addr: base + P - 2, len: 4 }]);
  await blockOn(u, f, 'the first fault');
  t.deepEqual(u.read(4).map((m) => m.address), [base + P - 2]);
  u.copy(base, patternPage(base));
  await until('the second fault', () => u.stats().queues.pending === 1);
  t.deepEqual(u.read(4).map((m) => m.address), [base + P], 'the access continues at the start of the next page');
  u.copy(base + P, patternPage(base + P));
  t.deepEqual((await ok(f, 0)).bytes, [...patternPage(base).subarray(P - 2), ...patternPage(base + P).subarray(0, 2)]);
});

test('MINOR faults carry UFFD_PAGEFAULT_FLAG_MINOR (with WRITE for a write); a MISSING fault of the same registration does not', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h, UFFD_FEATURE_THREAD_ID);
  const fd = h.memfdCreate(3 * P);
  const reg = h.mmap(3 * P, { memfd: fd });
  const alias = h.mmap(3 * P, { memfd: fd });
  // Pages 0 and 1 are in the page cache (written through the alias); page 2 is not.
  h.write(alias, patternPage(reg));
  h.write(alias + P, patternPage(reg + P));
  u.register(reg, 3 * P, UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_MISSING);
  const plan: Array<{ op: FaulterOp; flags: number; page: number }> = [
    { op: { op: 'read', addr: reg + 10, len: 2 }, flags: MINOR, page: reg },
    { op: { op: 'write', addr: reg + P + 10, bytes: [0xee] }, flags: MINOR | WRITE, page: reg + P },
    { op: { op: 'read', addr: reg + 2 * P, len: 2 }, flags: 0, page: reg + 2 * P },
  ];
  const fs: Faulter[] = [];
  for (const p of plan) {
    const f = await Faulter.start(t, vm, [p.op]);
    fs.push(f);
    await blockOn(u, f, 'the fault');
  }
  t.deepEqual(u.read(3), plan.map((p, k): UffdMsg => ({ event: UFFD_EVENT_PAGEFAULT, flags: p.flags, address: p.page, tid: fs[k].threadId })));
  // Minor faults are resolved by mapping the page cache's page, the missing one by filling it.
  t.is(u.continue(reg, 2 * P), 2 * P);
  t.is(u.copy(reg + 2 * P, patternPage(reg + 2 * P)), P);
  t.deepEqual((await ok(fs[0], 0)).bytes, [...patternPage(reg).subarray(10, 12)]);
  await ok(fs[1], 0);
  t.is(h.read(alias + P + 10, 1)[0], 0xee, 'the write went to the shared page');
  t.deepEqual((await ok(fs[2], 0)).bytes, [...patternPage(reg + 2 * P).subarray(0, 2)]);
  t.is(u.stats().continues, 2);
  t.is(u.stats().copies, 1);
});
