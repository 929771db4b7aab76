/**
 * TLB coherence with real concurrency: vCPUs spin reading one u64 (in their own threads, in guest
 * mode, with the page in their TLBs) while the main thread deletes, recreates and moves its slot, or
 * drops the page with madvise(DONTNEED). Once setUserMemoryRegion / madvise has returned, no read
 * may return what the old mapping held: the zap must have flushed every vCPU's TLB before returning.
 *
 * The host moves the guests through phases (fixtures/tlb.ts): a transition phase around each
 * operation, where old, new and intermediate values are allowed, then a stable phase entered after
 * the operation returned, where only the new value is. After each operation the host also writes a
 * marker into what the old mapping pointed at (the old host page, or the freed frame, which the host
 * reuses for a decoy page), so a stale TLB entry would return a value no phase allows.
 */
import test, { type ExecutionContext } from 'ava';
import { KVM_EXIT_IO, PAGE_SIZE, type Vm } from '@vcpu-rt/core';
import type { Vcpu, VmmHandlerSpec } from '@vcpu-rt/vcpu';
import { CTL_WORDS, CUR_COUNT, CUR_PHASE, PHASE, VIOLATIONS, vcpuBase } from './fixtures/tlb.js';
import { addSlot, deleteSlot, describe, fixture, le64, moveSlot, newVm, spawn, ucall, until, within } from './_helpers.js';

const G = 0xc0000000;
const SLOT = 10;
const MMIO_VAL = 0xbeefn;
const NR_VCPUS = 2;
const READS_PER_PHASE = 300;

interface Step {
  /** What the host does at the start of this (transition) phase; the next phase is stable. */
  op: () => void;
  during: bigint[];
  after: bigint[];
}

/** Runs watcher vCPUs through `initial` and then every step; returns nothing, asserts everything. */
async function runPhases(t: ExecutionContext, vm: Vm, initial: bigint[], steps: Step[], vmm: VmmHandlerSpec[] = [], nrVcpus = NR_VCPUS): Promise<void> {
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  const allowed: bigint[][] = [initial];
  for (const s of steps) allowed.push(s.during, s.after);
  const vcpus: Vcpu[] = [];
  for (let i = 0; i < nrVcpus; i++) {
    vcpus.push(await spawn(t, vm, i, { guest: fixture('tlb', 'watcher'), args: { gpa: G, ctl: ctl.buffer, allowed } }, { vmm }));
  }
  const runs = vcpus.map((v) => v.run());
  runs.forEach((r) => r.catch(() => {}));
  const settle = async (phase: number): Promise<void> => {
    await until(() => vcpus.every((_, i) => {
      const b = vcpuBase(i);
      return Atomics.load(ctl, b + CUR_PHASE) === phase && Atomics.load(ctl, b + CUR_COUNT) >= READS_PER_PHASE;
    }), 10_000, `every vCPU to read in phase ${phase} (violations so far: ${vcpus.map((_, i) => Atomics.load(ctl, vcpuBase(i) + VIOLATIONS)).join(', ')})`);
  };
  await settle(0);
  for (let k = 0; k < steps.length; k++) {
    Atomics.store(ctl, PHASE, 2 * k + 1);
    steps[k].op();
    Atomics.store(ctl, PHASE, 2 * k + 2);
    await settle(2 * k + 2);
  }
  Atomics.store(ctl, PHASE, allowed.length);
  const exits = await within(Promise.all(runs), 10_000, 'the guests to finish');
  exits.forEach((exit, i) => {
    t.is(exit.reason, KVM_EXIT_IO, describe(exit));
    if (exit.reason !== KVM_EXIT_IO) return;
    t.is(exit.ucall.cmd, 'done', describe(exit));
    const [n, ...bad] = exit.ucall.values;
    const pairs: string[] = [];
    for (let j = 0; j < bad.length; j += 2) pairs.push(`phase ${bad[j]}: 0x${bad[j + 1].toString(16)} (allowed ${allowed[Number(bad[j])].map((v) => '0x' + v.toString(16)).join('|')})`);
    t.is(n, 0, `vCPU ${i} read values its phase does not allow: ${pairs.join('; ')}`);
  });
}

test('TLB coherence: no vCPU reads a deleted, recreated or moved slot through a stale TLB entry', async (t) => {
  const vm = newVm(t);
  const ROUNDS = 8;
  const v = (r: number, k: number): bigint => BigInt(0x1000 * (r + 1) + k);
  let hvaA = addSlot(vm, { slot: SLOT, gpa: G, size: 2 * PAGE_SIZE });
  vm.host.write(hvaA, le64(v(0, 0)));
  const steps: Step[] = [];
  let cur = v(0, 0);
  for (let r = 0; r < ROUNDS; r++) {
    const a = cur;
    const c = v(r, 2);
    const d = v(r, 3);
    const e = v(r, 4);
    let hvaB = 0;
    steps.push({
      op: () => {
        deleteSlot(vm, SLOT);
        vm.host.write(hvaA, le64(v(r, 1))); // the old page changes: a stale entry would show it
      },
      during: [a, MMIO_VAL], after: [MMIO_VAL],
    });
    steps.push({
      op: () => {
        vm.host.munmap(hvaA, 2 * PAGE_SIZE);
        hvaB = vm.host.mmap(2 * PAGE_SIZE);
        vm.host.write(hvaB, le64(c));
        vm.host.write(hvaB + PAGE_SIZE, le64(d));
        addSlot(vm, { slot: SLOT, gpa: G, size: 2 * PAGE_SIZE, hva: hvaB });
      },
      during: [MMIO_VAL, c], after: [c],
    });
    steps.push({
      op: () => {
        moveSlot(vm, SLOT, G - PAGE_SIZE); // G now lies on the slot's second page
        vm.host.write(hvaB, le64(e));
      },
      during: [c, MMIO_VAL, d], after: [d],
    });
    steps.push({
      op: () => {
        moveSlot(vm, SLOT, G);
        vm.host.write(hvaB + PAGE_SIZE, le64(v(r, 5)));
        hvaA = hvaB;
      },
      during: [d, MMIO_VAL, e], after: [e],
    });
    cur = e;
  }
  await runPhases(t, vm, [v(0, 0)], steps, [{ handler: fixture('tlb', 'mmioConst'), args: { gpa: G, value: MMIO_VAL } }]);
  const stats = vm.mmuStats();
  t.true(stats.zapped >= 3 * ROUNDS, `sptes zapped: ${stats.zapped}`);
  t.true(stats.tlbFlushes >= 3 * ROUNDS, `remote TLB flushes: ${stats.tlbFlushes}`);
});

for (const [nrVcpus, ROUNDS] of [[2, 30], [3, 60]] as const) {
  test(`TLB coherence: after madvise(DONTNEED) returns none of ${nrVcpus} vCPUs reads the dropped page, even once its frame is reused`, async (t) => {
    const vm = newVm(t);
    // Values differ from 0 in one byte only, so a read racing the host's write is never torn.
    const val = (r: number): bigint => BigInt(0x20 + r);
    const hva = addSlot(vm, { slot: SLOT, gpa: G, size: PAGE_SIZE });
    const decoy = vm.host.mmap(ROUNDS * PAGE_SIZE);
    vm.host.write(hva, le64(val(0)));
    const steps: Step[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      steps.push({
        op: () => {
          vm.host.madvise(hva, PAGE_SIZE, 'dontneed');
          // The dropped frame is free again: the decoy page most likely gets it, with a marker.
          vm.host.write(decoy + r * PAGE_SIZE, le64(0xdec0de00n + BigInt(r)));
        },
        during: [val(r), 0n], after: [0n],
      });
      steps.push({ op: () => vm.host.write(hva, le64(val(r + 1))), during: [0n, val(r + 1)], after: [val(r + 1)] });
    }
    const before = vm.mmuStats();
    await runPhases(t, vm, [val(0)], steps, [], nrVcpus);
    const after = vm.mmuStats();
    t.true(after.zapped - before.zapped >= ROUNDS, `every dontneed zapped the mapped page (${after.zapped - before.zapped})`);
  });
}

test('an async guest awaiting with a cached TLB entry acknowledges the flush: the host dontneed returns at once, and the guest then reads zero', async (t) => {
  const vm = newVm(t);
  const hva = addSlot(vm, { slot: 0, gpa: 0, size: 64 * 1024, populate: true });
  vm.host.write(hva + 4096, new Uint8Array([7, 0, 0, 0]));
  const vcpu = await spawn(t, vm, 0, { guest: fixture('async-guest', 'readAwaitRead'), args: { gpa: 4096, ms: 600 } });
  const running = vcpu.run();
  await new Promise((r) => setTimeout(r, 150)); // the guest has read the page and is awaiting
  const t0 = performance.now();
  vm.host.madvise(hva + 4096, 4096, 'dontneed');
  const ms = performance.now() - t0;
  t.true(ms < 300, `madvise waited ${ms.toFixed(0)} ms for an awaiting vCPU`);
  const exit = await running;
  t.deepEqual(ucall(t, exit, 'done').map(Number), [7, 0]);
});
