/**
 * Dirty logging of guest writes, after tools/testing/selftests/kvm/dirty_log_test.c (reference §8):
 * KVM_GET_DIRTY_LOG reports exactly the pages the guest wrote; fetching the log write-protects them
 * again (and flushes the vCPUs' TLBs), so writes to the same pages after the fetch are logged again;
 * with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 the fetch does not clear and KVM_CLEAR_DIRTY_LOG re-arms.
 */
import test from 'ava';
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_DIRTY_LOG_INITIALLY_SET, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, KVM_EXIT_IO,
  KVM_EXIT_MMIO, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, PAGE_SIZE, type Vm,
} from '@vcpu-rt/core';
import type { Op, Vcpu } from '@vcpu-rt/vcpu';
import { STOP, WRITES } from './fixtures/dirty.js';
import { addSlot, bitmapOf, bitsSet, describe, fixture, le64, newVm, spawn, u64, ucall, until, within } from './_helpers.js';

const TEST_MEM_SLOT = 1;
const GPA = 0x10000000;
const NPAGES = 128;

/** An ops guest doing one batch per run(): batch i writes pages `writes[i]` (value (i+1) << 16 | page), reads `reads[i]`. */
function batches(writes: number[][], reads: number[][] = []): Op[] {
  const ops: Op[] = [];
  writes.forEach((pages, i) => {
    for (const p of pages) ops.push({ op: 'write', gpa: GPA + p * PAGE_SIZE + 8, size: 8, value: (BigInt(i + 1) << 16n) | BigInt(p) });
    for (const p of reads[i] ?? []) ops.push({ op: 'read', gpa: GPA + p * PAGE_SIZE, size: 4 });
    ops.push({ op: 'ucall' });
  });
  return ops;
}

function dirtySlot(vm: Vm): number {
  return addSlot(vm, { slot: TEST_MEM_SLOT, gpa: GPA, size: NPAGES * PAGE_SIZE, flags: KVM_MEM_LOG_DIRTY_PAGES });
}

test('dirty_log_test: GET_DIRTY_LOG reports exactly the written pages, and writes after a fetch are logged again', async (t) => {
  const vm = newVm(t);
  const hva = dirtySlot(vm);
  const writes = [[1, 5, 64, 127], [1, 5, 9], [64, 127], [1, 5, 9, 64, 127]];
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: batches(writes, [[3, 70], [3, 4], [], [2]]) } });
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [], 'nothing dirty before the guest runs');
  t.is(vm.getDirtyLog(TEST_MEM_SLOT).length, NPAGES / 8, 'ALIGN(npages, 64) / 8 bytes');
  const before = vm.mmuStats();
  for (let i = 0; i < writes.length; i++) {
    ucall(t, await vcpu.run(), 'sync');
    t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [...writes[i]].sort((a, b) => a - b), `batch ${i}: exactly the written pages (reads do not dirty)`);
    t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [], `batch ${i}: the fetch cleared the log`);
  }
  ucall(t, await vcpu.run(), 'done');
  const after = vm.mmuStats();
  t.true(after.writeProtected > before.writeProtected, 'fetches write-protected the logged pages');
  t.true(after.tlbFlushes > before.tlbFlushes, 'and flushed the TLBs');
  // The guest's data is in place.
  t.is(u64(vm.host.read(hva + 9 * PAGE_SIZE + 8, 8)), (4n << 16n) | 9n);
  t.is(u64(vm.host.read(hva + 3 * PAGE_SIZE + 8, 8)), 0n, "page 3 was only read");
  t.is(u64(vm.host.read(hva + 127 * PAGE_SIZE + 8, 8)), (4n << 16n) | 127n);
});

for (const nrVcpus of [1, 2]) {
  test(`dirty_log_test: writes by ${nrVcpus} vCPU(s) spinning in guest mode are never missed across concurrent fetches`, async (t) => {
    const vm = newVm(t);
    const hva = dirtySlot(vm);
    const ctl = new Int32Array(new SharedArrayBuffer(64));
    const vcpus: Vcpu[] = [];
    for (let i = 0; i < nrVcpus; i++) {
      vcpus.push(await spawn(t, vm, i, { guest: fixture('dirty', 'dirtyWriter'), args: { gpa: GPA, pages: NPAGES, ctl: ctl.buffer, nrVcpus } }));
    }
    const writes = (): number => vcpus.reduce((sum, _, i) => sum + Atomics.load(ctl, WRITES + 2 * i), 0);
    const snapshot = (): bigint[] => {
      const mem = vm.host.read(hva, NPAGES * PAGE_SIZE);
      return Array.from({ length: NPAGES }, (_, p) => u64(mem, p * PAGE_SIZE));
    };
    const bit = (log: Uint8Array, p: number): boolean => (log[p >> 3] & (1 << (p & 7))) !== 0;

    let prevSnap = snapshot();
    let prevLog = vm.getDirtyLog(TEST_MEM_SLOT);
    const running = vcpus.map((v) => v.run());
    await until(() => vcpus.every((_, i) => Atomics.load(ctl, WRITES + 2 * i) > 1000), 10_000, 'the guests to write');
    const missed: string[] = [];
    let changed = 0;
    let neverWritten = 0;
    const ROUNDS = 60;
    for (let k = 1; k <= ROUNDS; k++) {
      const before = writes();
      await until(() => writes() > before + 200, 10_000, 'more guest writes');
      // Snapshot, then fetch: a write between two snapshots is in the fetch before or after the second.
      const snap = snapshot();
      const log = vm.getDirtyLog(TEST_MEM_SLOT);
      for (let p = 0; p < NPAGES; p++) {
        if (p % 2 === 1 && bit(log, p)) neverWritten++;
        if (snap[p] === prevSnap[p]) continue;
        changed++;
        if (!bit(prevLog, p) && !bit(log, p)) missed.push(`round ${k} page ${p}: ${prevSnap[p]} -> ${snap[p]}`);
      }
      prevSnap = snap;
      prevLog = log;
    }
    Atomics.store(ctl, STOP, 1);
    const exits = await within(Promise.all(running), 10_000, 'the guests to stop');
    for (const exit of exits) t.is(exit.reason, KVM_EXIT_IO, describe(exit));
    t.deepEqual(missed.slice(0, 10), [], `${missed.length} writes were not logged`);
    t.is(neverWritten, 0, 'pages the guests never write are never dirty');
    t.true(changed > ROUNDS, `pages changed ${changed} times over ${ROUNDS} rounds`);
  });
}

test('dirty logging enabled on a slot the guest already maps writable (FLAGS_ONLY): later writes are logged', async (t) => {
  const vm = newVm(t);
  const hva = addSlot(vm, { slot: TEST_MEM_SLOT, gpa: GPA, size: NPAGES * PAGE_SIZE });
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: batches([[0, 1, 2, 3], [1, 3], [0]]) } });
  ucall(t, await vcpu.run(), 'sync'); // pages 0-3 now mapped writable, in the TLB
  t.throws(() => vm.getDirtyLog(TEST_MEM_SLOT), { code: 'ENOENT' });
  const change = vm.setUserMemoryRegion({ slot: TEST_MEM_SLOT, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GPA, memorySize: NPAGES * PAGE_SIZE, userspaceAddr: hva });
  t.is(change, 'flags_only');
  t.is(vm.nrMemslotsDirtyLogging, 1);
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [], 'nothing written since logging started');
  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [1, 3], 'kvm_mmu_slot_apply_flags write-protected the mapped pages');
  // Logging off again: writes go on, the log is gone.
  vm.setUserMemoryRegion({ slot: TEST_MEM_SLOT, flags: 0, guestPhysAddr: GPA, memorySize: NPAGES * PAGE_SIZE, userspaceAddr: hva });
  ucall(t, await vcpu.run(), 'sync');
  t.throws(() => vm.getDirtyLog(TEST_MEM_SLOT), { code: 'ENOENT' });
  t.is(u64(vm.host.read(hva + 8, 8)), (3n << 16n) | 0n, 'the last write landed');
  ucall(t, await vcpu.run(), 'done');
});

test('dirty_log_test with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: GET does not clear, CLEAR_DIRTY_LOG re-protects', async (t) => {
  const vm = newVm(t);
  vm.enableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE]);
  dirtySlot(vm);
  const writes = [[2, 4, 100], [2, 4], [6], [2, 100]];
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: batches(writes) } });
  const log = (): number[] => bitsSet(vm.getDirtyLog(TEST_MEM_SLOT));
  const clear = (bits: number[]): void => vm.clearDirtyLog({ slot: TEST_MEM_SLOT, firstPage: 0, numPages: NPAGES, bitmap: bitmapOf(NPAGES, bits) });

  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(log(), [2, 4, 100]);
  t.deepEqual(log(), [2, 4, 100], 'GET_DIRTY_LOG only copies');
  clear([2, 100]);
  t.deepEqual(log(), [4], 'CLEAR_DIRTY_LOG clears exactly the given bits');

  // Page 2 was write-protected again by the clear, page 4 still has its bit: both are dirty.
  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(log(), [2, 4]);
  clear([2, 4]);
  t.deepEqual(log(), []);

  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(log(), [6], 'pages cleared earlier and not written stay clean');
  clear([6]);

  // Pages 2 and 100 were cleared (and so write-protected) after their last writes: logged again.
  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(log(), [2, 100]);
  ucall(t, await vcpu.run(), 'done');
});

test('dirty_log_test with KVM_DIRTY_LOG_INITIALLY_SET: the log starts all ones; after a clear only new writes show', async (t) => {
  const vm = newVm(t);
  vm.enableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET]);
  dirtySlot(vm);
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops: batches([[7, 8], [3], [7]]) } });
  const all = Array.from({ length: NPAGES }, (_, i) => i);
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), all, 'every page starts dirty');
  ucall(t, await vcpu.run(), 'sync'); // writes 7 and 8 while the bits are set
  vm.clearDirtyLog({ slot: TEST_MEM_SLOT, firstPage: 0, numPages: NPAGES, bitmap: bitmapOf(NPAGES, all) });
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), []);
  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [3]);
  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [3, 7], 'page 7, mapped writable before the clear, is logged after it');
  ucall(t, await vcpu.run(), 'done');
});

test('dirty logging across a MOVE: the bitmap follows the slot, bit i is page i of its new place', async (t) => {
  const vm = newVm(t);
  const hva = dirtySlot(vm);
  const MOVED = GPA + 0x1000000;
  const vcpu = await spawn(t, vm, 0, {
    guest: 'ops', args: {
      ops: [
        { op: 'write', gpa: GPA + 5 * PAGE_SIZE, size: 8, value: 1n }, { op: 'ucall' },
        { op: 'write', gpa: MOVED + 6 * PAGE_SIZE, size: 8, value: 2n }, { op: 'write', gpa: MOVED + 5 * PAGE_SIZE, size: 8, value: 3n }, { op: 'ucall' },
        { op: 'write', gpa: GPA + 5 * PAGE_SIZE, size: 8, value: 4n },
      ],
    },
  });
  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [5]);
  vm.setUserMemoryRegion({ slot: TEST_MEM_SLOT, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: MOVED, memorySize: NPAGES * PAGE_SIZE, userspaceAddr: hva });
  ucall(t, await vcpu.run(), 'sync');
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [5, 6], 'writes at the new place are logged at their page index');
  t.is(u64(vm.host.read(hva + 5 * PAGE_SIZE, 8)), 3n);
  const exit = await vcpu.run();
  t.is(exit.reason, KVM_EXIT_MMIO, `the old place has no slot: ${describe(exit)}`);
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), [], 'an MMIO write dirties nothing');
});

test('a READONLY slot with KVM_MEM_LOG_DIRTY_PAGES: guest writes exit as MMIO and are never logged', async (t) => {
  const vm = newVm(t);
  const hva = addSlot(vm, { slot: TEST_MEM_SLOT, gpa: GPA, size: NPAGES * PAGE_SIZE, flags: KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY });
  vm.host.write(hva + 2 * PAGE_SIZE, le64(9n));
  const vcpu = await spawn(t, vm, 0, {
    guest: 'ops', args: { ops: [{ op: 'read', gpa: GPA + 2 * PAGE_SIZE, size: 8 }, { op: 'write', gpa: GPA + 2 * PAGE_SIZE, size: 8, value: 1n }] },
  });
  const exit = await vcpu.run();
  t.is(exit.reason, KVM_EXIT_MMIO, describe(exit));
  if (exit.reason === KVM_EXIT_MMIO) t.true(exit.mmio.isWrite);
  t.deepEqual(ucall(t, await vcpu.run(), 'done'), [9n]);
  t.deepEqual(bitsSet(vm.getDirtyLog(TEST_MEM_SLOT)), []);
  t.is(u64(vm.host.read(hva + 2 * PAGE_SIZE, 8)), 9n);
});
