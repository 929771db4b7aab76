/**
 * Robustness of the vCPU runtime: guests that throw, end their thread or die; bad guest names; and
 * destroy() of vCPUs in every state. Nothing may hang, and a destroyed vCPU's id and its line in the
 * VM's vCPU table (which every TLB-flush request waits on) must be free again afterwards.
 */
import { Worker } from 'node:worker_threads';
import test, { type ExecutionContext } from 'ava';
import { KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, PAGE_SIZE, UFFDIO_REGISTER_MODE_MISSING, type Vm } from '@vcpu-rt/core';
import { createVcpu, GuestError, type Vcpu } from '@vcpu-rt/vcpu';
import { addSlot, describe, fixture, newVm, spawn, ucall, until, within } from './_helpers.js';

const GPA = 0x60000000;

function vmWithPage(t: ExecutionContext): { vm: Vm; hva: number } {
  const vm = newVm(t);
  const hva = addSlot(vm, { slot: 1, gpa: GPA, size: 4 * PAGE_SIZE });
  return { vm, hva };
}

/** A dontneed of the guest-mapped page from another thread; resolves to its duration, or rejects after `ms`. */
async function zapInWorker(vm: Vm, hva: number, ms: number): Promise<number> {
  const w = new Worker(new URL('./fixtures/zapper.js', import.meta.url), { workerData: { handle: vm.handle(), hva } });
  try {
    return await within(new Promise<number>((resolve, reject) => {
      w.once('message', (m: { ms: number }) => resolve(m.ms));
      w.once('error', reject);
    }), ms, 'a dontneed (zap + remote TLB flush) of a page the vCPU had mapped');
  } finally {
    await w.terminate();
  }
}

/** A zap of a page the vCPU had mapped returns: its remote TLB flush does not wait for a gone vCPU. */
async function zapCompletes(t: ExecutionContext, vm: Vm, hva: number): Promise<void> {
  await zapInWorker(vm, hva, 5000).then(
    () => t.pass(),
    (e: unknown) => t.fail(`after the vCPU thread ended, a dontneed of a page it had mapped never returns: ${String(e)}`),
  );
}

/** The id can be created again, and its new vCPU runs. */
async function idIsReusable(t: ExecutionContext, vm: Vm, id: number): Promise<void> {
  const again = await within(createVcpu(vm, id, { guest: 'ops', args: { ops: [{ op: 'read', gpa: GPA, size: 1 }] } }), 5000, `createVcpu(${id}) again`)
    .catch((e: unknown) => {
      t.fail(`vCPU id ${id} cannot be created again: ${String(e)}`);
      return undefined;
    });
  if (!again) return;
  t.teardown(() => again.destroy());
  t.deepEqual(ucall(t, await within(again.run(), 5000, 'the new vCPU to run'), 'done'), [0]);
}

test('a module guest that throws: run() rejects with GuestError, and again on the next run()', async (t) => {
  const { vm } = vmWithPage(t);
  const vcpu = await spawn(t, vm, 0, { guest: fixture('misbehave', 'thrower') });
  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [1]);
  const e1 = await t.throwsAsync(within(vcpu.run(), 5000, 'run()'), { instanceOf: GuestError });
  t.regex(e1?.message ?? '', /index out of range/);
  const e2 = await t.throwsAsync(within(vcpu.run(), 5000, 'run()'), { instanceOf: GuestError });
  t.regex(e2?.message ?? '', /index out of range/);
  await within(vcpu.destroy(), 5000, 'destroy()');
  await idIsReusable(t, vm, 0);
});

test('a guest that calls process.exit: run() rejects without hanging; destroy() and the id recover', async (t) => {
  const { vm, hva } = vmWithPage(t);
  const vcpu = await spawn(t, vm, 0, { guest: fixture('misbehave', 'exiter'), args: { gpa: GPA } });
  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [2]);
  await t.throwsAsync(within(vcpu.run(), 5000, 'run() of a vCPU whose thread exited'), { message: /exit/ });
  await t.throwsAsync(within(vcpu.run(), 5000, 'a second run()'));
  await within(vcpu.destroy(), 5000, 'destroy()');
  await zapCompletes(t, vm, hva);
  await idIsReusable(t, vm, 0);
});

test('a vCPU thread that dies of an uncaught exception: run() rejects without hanging; the id recovers', async (t) => {
  const { vm, hva } = vmWithPage(t);
  const vcpu = await spawn(t, vm, 0, { guest: fixture('misbehave', 'uncaught'), args: { gpa: GPA } });
  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [3]);
  await t.throwsAsync(within(vcpu.run(), 5000, 'run() of a vCPU whose thread died'), { any: true, message: /uncaught in the vCPU thread/ });
  await t.throwsAsync(within(vcpu.run(), 5000, 'a second run()'), { any: true });
  await within(vcpu.destroy(), 5000, 'destroy()');
  await zapCompletes(t, vm, hva);
  await idIsReusable(t, vm, 0);
});

test('createVcpu rejects unknown guests, bad module specs and non-function exports, and leaves the id free', async (t) => {
  const { vm } = vmWithPage(t);
  await t.throwsAsync(within(createVcpu(vm, 0, { guest: 'no-such-guest' }), 5000, 'createVcpu'), { message: /unknown guest 'no-such-guest'/ });
  await t.throwsAsync(within(createVcpu(vm, 1, { guest: fixture('no-such-file', 'g') }), 5000, 'createVcpu'), { message: /no-such-file/ });
  await t.throwsAsync(within(createVcpu(vm, 2, { guest: fixture('misbehave', 'notAFunction') }), 5000, 'createVcpu'), { message: /not a function/ });
  await t.throwsAsync(within(createVcpu(vm, 3, { guest: 'ops', args: { ops: [] } }, { vmm: [{ handler: 'no-such-handler' }] }), 5000, 'createVcpu'), { message: /unknown exit handler/ });
  for (const id of [0, 1, 2, 3]) await idIsReusable(t, vm, id);
});

test('destroy() of a vCPU blocked in an exit completes quickly, and the id can be created again', async (t) => {
  const { vm } = vmWithPage(t);
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: [{ op: 'ucall' }, { op: 'ucall' }] } });
  ucall(t, await vcpu.run(), 'sync'); // now blocked in the exit, waiting for KVM_RUN
  const t0 = Date.now();
  await within(vcpu.destroy(), 3000, 'destroy() of a vCPU in an exit');
  t.true(Date.now() - t0 < 3000);
  await t.throwsAsync(within(vcpu.run(), 3000, 'run() after destroy'));
  await idIsReusable(t, vm, 0);
});

test('destroy() of a vCPU that never ran, and of one whose guest is done, completes quickly', async (t) => {
  const { vm } = vmWithPage(t);
  const fresh = await spawn(t, vm, 0, { guest: 'ops', args: { ops: [] } });
  await within(fresh.destroy(), 3000, 'destroy() before the first run()');
  const done = await spawn(t, vm, 1, { guest: 'ops', args: { ops: [] } });
  ucall(t, await done.run(), 'done');
  await within(done.destroy(), 3000, 'destroy() after done');
  await idIsReusable(t, vm, 0);
  await idIsReusable(t, vm, 1);
});

test('destroy() of a vCPU spinning on memory accesses inside run(): the pending run() settles and the id recovers', async (t) => {
  const { vm, hva } = vmWithPage(t);
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const vcpu = await spawn(t, vm, 0, { guest: fixture('misbehave', 'readSpin'), args: { gpa: GPA, ctl: ctl.buffer } });
  const running = vcpu.run();
  running.catch(() => {});
  await until(() => Atomics.load(ctl, 0) > 1000, 5000, 'the guest to spin');
  await within(vcpu.destroy(), 3000, 'destroy() of a spinning vCPU');
  await t.throwsAsync(within(running, 3000, 'the pending run() to settle'));
  await zapCompletes(t, vm, hva);
  await idIsReusable(t, vm, 0);
});

test('destroy() of a vCPU spinning in guest code without memory accesses completes within a few seconds; the VM stays usable', async (t) => {
  const { vm, hva } = vmWithPage(t);
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const vcpu = await spawn(t, vm, 0, { guest: fixture('misbehave', 'tightSpin'), args: { gpa: GPA, ctl: ctl.buffer } });
  t.deepEqual(ucall(t, await vcpu.run(), 'sync'), [4]);
  const running = vcpu.run();
  running.catch(() => {});
  await until(() => Atomics.load(ctl, 0) === 1, 5000, 'the guest to spin'); // in guest mode, the page mapped
  const t0 = Date.now();
  await within(vcpu.destroy(), 5000, 'destroy() of a vCPU in a tight loop');
  t.true(Date.now() - t0 < 5000);
  await t.throwsAsync(within(running, 3000, 'the pending run() to settle'));
  await zapCompletes(t, vm, hva);
  await idIsReusable(t, vm, 0);
});

test('run() while a run() is pending is EBUSY; a second destroy() does not hang', async (t) => {
  const { vm } = vmWithPage(t);
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const vcpu: Vcpu = await spawn(t, vm, 0, { guest: fixture('misbehave', 'readSpin'), args: { gpa: GPA, ctl: ctl.buffer } });
  const running = vcpu.run();
  running.catch(() => {});
  await t.throwsAsync(vcpu.run(), { message: /already running/ });
  await within(vcpu.destroy(), 3000, 'destroy()');
  await within(vcpu.destroy().catch(() => {}), 3000, 'destroy() again');
  const exit = await running.catch(() => undefined);
  t.true(exit === undefined || exit.reason !== KVM_EXIT_IO, exit ? describe(exit) : 'rejected');
});

test('set_memory_region_test test_zero_memory_regions: a vCPU of a VM with no memslot exits with KVM_EXIT_INTERNAL_ERROR, until a slot exists', async (t) => {
  const vm = newVm(t);
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: [{ op: 'ucall' }] } });
  t.is((await vcpu.run()).reason, KVM_EXIT_INTERNAL_ERROR);
  t.is((await vcpu.run()).reason, KVM_EXIT_INTERNAL_ERROR, 'every KVM_RUN fails the same way while there is no memory');
  addSlot(vm, { slot: 0, gpa: 0, size: 64 * 1024 });
  t.is((await vcpu.run()).reason, KVM_EXIT_IO);
});

test('two concurrent createVcpu calls for one id: one vCPU, and KvmError EEXIST for the other', async (t) => {
  const vm = newVm(t);
  addSlot(vm, { slot: 0, gpa: 0, size: 64 * 1024 });
  const results = await Promise.allSettled([0, 1].map(() => createVcpu(vm, 3, { guest: 'ops', args: { ops: [] } })));
  const ok = results.filter((r): r is PromiseFulfilledResult<Vcpu> => r.status === 'fulfilled');
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(ok.length, 1);
  t.is(failed.length, 1);
  t.like(failed[0].reason, { code: 'EEXIST' });
  t.is((await ok[0].value.run()).reason, KVM_EXIT_IO);
  await ok[0].value.destroy();
});

test('a vCPU thread killed while asleep in handle_userfault: its waiter record leaves the queue, so walks and readers never meet it', async (t) => {
  const { vm, hva } = vmWithPage(t);
  const uffd = vm.host.userfaultfd();
  t.teardown(() => uffd.close());
  uffd.api();
  uffd.register(hva, 4 * PAGE_SIZE, UFFDIO_REGISTER_MODE_MISSING);
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: [{ op: 'read', gpa: GPA, size: 8 }] } });
  const pending = vcpu.run();
  pending.catch(() => {});
  await until(() => uffd.stats().queues.pending === 1, 5000, 'the vCPU to queue its fault');
  // A kill, not a destroy: the thread gets no chance to unwind its fault.
  await (vcpu as unknown as { worker: Worker }).worker.terminate();
  await t.throwsAsync(within(pending, 5000, 'run() of a killed vCPU'));
  t.is(uffd.stats().queues.pending, 0, 'the dead thread\'s record is off fault_pending_wqh');
  t.deepEqual(uffd.read(4), [], 'no message of a dead thread is left to read');
  uffd.wake(hva, PAGE_SIZE);
  t.is(uffd.stats().wakes.walks, 0, 'a wake finds no waiter (no walk over a dead record)');
  uffd.close(); // the new vCPU's read then faults normally
  await idIsReusable(t, vm, 0);
});

test('run() after destroy() says the vCPU was destroyed; createVcpu on a closed VM is EIO', async (t) => {
  const { vm } = vmWithPage(t);
  const vcpu = await createVcpu(vm, 0, { guest: 'ops', args: { ops: [] } });
  await vcpu.destroy();
  await t.throwsAsync(vcpu.run(), { message: /EIO: KVM_RUN: vCPU 0 was destroyed/ });
  await vm.close();
  await t.throwsAsync(createVcpu(vm, 1, { guest: 'ops', args: { ops: [] } }), { message: /EIO: createVcpu: the VM is closed/ });
});

test('module-guest accessors refuse a NaN, negative or fractional gpa and a value of the wrong type, naming the access', async (t) => {
  const { vm } = vmWithPage(t);
  const cases: [string, RegExp][] = [
    ['nan', /read32: gpa must be a non-negative integer \(got NaN\)/],
    ['negative', /read8: gpa must be a non-negative integer \(got -12288\)/],
    ['fraction', /write16: gpa must be a non-negative integer \(got \d+\.5\)/],
    ['string', /write32: the value must be a finite number \(got "abc"\)/],
    ['number64', /write64: the value must be a bigint \(got 5\)/],
  ];
  let id = 0;
  for (const [kind, msg] of cases) {
    const vcpu = await spawn(t, vm, id++, { guest: fixture('misbehave', 'badAccess'), args: { kind, gpa: GPA } });
    await t.throwsAsync(within(vcpu.run(), 5000, `run() of a guest making a ${kind} access`), { instanceOf: GuestError, message: msg }, kind);
  }
});

test('vm.close() while vCPUs exist is EBUSY and changes nothing; after destroy() it closes, and later ioctls are EIO', async (t) => {
  const { vm } = vmWithPage(t);
  const vcpu = await createVcpu(vm, 0, { guest: 'ops', args: { ops: [{ op: 'read', gpa: GPA, size: 4 }] } });
  await t.throwsAsync(vm.close(), { message: /EBUSY: close: 1 vCPU of this VM still exist; destroy\(\) them first/ });
  t.false(vm.isClosed);
  t.deepEqual(ucall(t, await within(vcpu.run(), 5000, 'the vCPU to run after the refused close'), 'done'), [0]);
  await vcpu.destroy();
  await vm.close();
  t.true(vm.isClosed);
  t.throws(() => vm.readGuest(GPA, 4), { message: /EIO: the VM is closed/ });
});

test('a program that never destroys its vCPU still exits when its work is done (a vCPU waiting for run() holds no event loop)', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const script = new URL('./fixtures/no-destroy.js', import.meta.url);
  const r = spawnSync(process.execPath, [script.pathname], { encoding: 'utf8', timeout: 15_000 });
  t.is(r.signal, null, 'killed by the 15 s timeout: the process did not exit by itself');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /guest done/);
});

test('destroy() while run() is pending, in a program awaiting nothing else: it lives until destroy() resolves, then closes its VM', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const script = new URL('./fixtures/destroy-during-run.js', import.meta.url);
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, [script.pathname], { encoding: 'utf8', timeout: 15_000 });
    t.is(r.signal, null, 'killed by the 15 s timeout');
    t.is(r.status, 0, `exit code (13: the event loop emptied while destroy() was pending); stderr: ${r.stderr}`);
    t.regex(r.stdout, /destroyed; run\(\) settled: .*\nclosed/);
  }
});

test('a module guest that fails to load is reported with its file: a syntax error, a missing file', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const vm = newVm(t);
  const dir = mkdtempSync(join(tmpdir(), 'vcpu-rt-guest-'));
  const broken = join(dir, 'broken.mjs');
  writeFileSync(broken, 'export function g(ctx) { ctx.read32(0)\n');
  await t.throwsAsync(createVcpu(vm, 0, { guest: `module:${broken}#g` }), { message: new RegExp(`cannot load ${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: Unexpected end of input`) });
  const missing = join(dir, 'missing.mjs');
  await t.throwsAsync(createVcpu(vm, 0, { guest: `module:${missing}#g` }), { message: /cannot load .*missing\.mjs: Cannot find module/ });
  t.true(vm.shared.vcpus.isFree(0));
});
