/**
 * The KVM_RUN handoff: HandoffPoll's window follows kvm_vcpu_halt's grow/shrink rules for
 * halt_poll_ns (virt/kvm/kvm_main.c), and exits and re-entries between the VMM thread and a vCPU
 * thread are never lost, whether the two sides spin, sleep, or mix both.
 */
import test from 'ava';
import { KVM_EXIT_IO, KVM_EXIT_MMIO } from '@vcpu-rt/core';
import { createVcpu, HandoffPoll, HANDOFF_POLL_NS_DEFAULT, type Op } from '@vcpu-rt/vcpu';
import { addSlot, describe, MiB, newVm, spawn } from './_helpers.js';

/** A poll whose window starts at `windowNs`. */
function pollAt(maxNs: number, windowNs: number): HandoffPoll {
  const words = new Int32Array(3);
  words[2] = windowNs;
  return new HandoffPoll(maxNs, words);
}

// [what, max_halt_poll_ns, window before, wait ns, window after]
const UPDATE_RULES: Array<[string, number, number, number, number]> = [
  ['a short wait with no window grows it to halt_poll_ns_grow_start', 200_000, 0, 5_000, 10_000],
  ['a wait the window caught keeps it', 200_000, 10_000, 5_000, 10_000],
  ['a wait ending exactly at the window keeps it', 200_000, 10_000, 10_000, 10_000],
  ['a short wait the window missed doubles it (halt_poll_ns_grow 2)', 200_000, 10_000, 15_000, 20_000],
  ['growth stops at max_halt_poll_ns', 200_000, 160_000, 170_000, 200_000],
  ['a window at the maximum does not grow', 200_000, 200_000, 200_000, 200_000],
  ['a wait longer than the maximum halves the window (halt_poll_ns_shrink 2)', 200_000, 40_000, 250_000, 20_000],
  ['halving may go below halt_poll_ns_grow_start', 200_000, 10_000, 250_000, 5_000],
  ['a window below halt_poll_ns_grow_start grows back to it', 200_000, 5_000, 8_000, 10_000],
  ['a long wait with no window leaves it at 0', 200_000, 0, 250_000, 0],
  ['a wait of exactly the maximum that the window missed does not grow it', 200_000, 100_000, 200_000, 100_000],
  ['max 0 never polls', 0, 0, 5_000, 0],
  ['a small maximum caps the first window', 4_000, 0, 1_000, 4_000],
];

for (const [what, max, before, wait, after] of UPDATE_RULES) {
  test(`HandoffPoll.update (kvm_vcpu_halt grow/shrink): ${what}`, (t) => {
    const p = pollAt(max, before);
    p.update(wait);
    t.is(p.windowNs, after);
    t.is(p.stats().windowNs, after);
  });
}

test('HandoffPoll: the window starts at 0 and the default maximum is KVM\'s halt_poll_ns (200 µs)', (t) => {
  const p = new HandoffPoll();
  t.is(p.windowNs, 0);
  t.is(p.maxNs, HANDOFF_POLL_NS_DEFAULT);
  t.is(HANDOFF_POLL_NS_DEFAULT, 200_000);
});

for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 31]) {
  test(`HandoffPoll rejects maxNs ${bad}`, (t) => {
    t.throws(() => new HandoffPoll(bad), { instanceOf: RangeError, message: /maxNs must be an integer in \[0, 2\^31 - 1\] ns/ });
  });
}

test('HandoffPoll.spin: true at once when the word is already done, counted as a successful poll', (t) => {
  const word = new Int32Array(1);
  word[0] = 7;
  const p = pollAt(200_000, 10_000);
  t.true(p.spin(word, 0, (s) => s === 7));
  t.deepEqual(p.stats(), { successfulPolls: 1, failedPolls: 0, windowNs: 10_000 });
});

test('HandoffPoll.spin: with no window it does not spin and counts nothing', (t) => {
  const p = pollAt(200_000, 0);
  t.false(p.spin(new Int32Array(1), 0, (s) => s === 1));
  t.deepEqual(p.stats(), { successfulPolls: 0, failedPolls: 0, windowNs: 0 });
});

test('HandoffPoll.spin: gives up after its window and counts a failed poll', (t) => {
  const p = pollAt(200_000, 2_000_000); // a 2 ms window (a test may set any window through the words)
  const t0 = performance.now();
  t.false(p.spin(new Int32Array(1), 0, (s) => s === 1));
  t.true(performance.now() - t0 >= 2, 'it spun for the whole window');
  t.deepEqual(p.stats(), { successfulPolls: 0, failedPolls: 1, windowNs: 2_000_000 });
});

const RAM = 0x100000;
const HOLE = 0xd0000000;

/** Reads between two sync ucalls (a ucall carries at most UCALL_MAX_VALUES values). */
const BATCH = 1000;

/**
 * An ops guest of `n` u32 MMIO reads of unbacked memory, a sync ucall after every BATCH: n exits
 * answered by the VMM, each with its own value, which the ucalls bring back.
 */
async function roundTrips(t: import('ava').ExecutionContext, runPollNs: number, n: number): Promise<void> {
  const vm = newVm(t);
  addSlot(vm, { slot: 0, gpa: RAM, size: 1 * MiB });
  const gpa = (i: number) => HOLE + 4 * (i % 1024);
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    ops.push({ op: 'read', gpa: gpa(i), size: 4 });
    if ((i + 1) % BATCH === 0) ops.push({ op: 'ucall' });
  }
  const vcpu = await spawn(t, vm, 0, { guest: 'ops', args: { ops } }, { runPollNs });
  const deadline = Date.now() + 60_000;
  const values: (number | bigint)[] = [];
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const lost = new Promise<'lost'>((resolve) => { timer = setTimeout(() => resolve('lost'), 60_000); });
  t.teardown(() => clearTimeout(timer));
  for (;;) {
    const e = await Promise.race([vcpu.run(), lost]);
    if (e === 'lost') {
      t.fail(`round trip ${i} of ${n} never came back: a wake-up was lost`);
      return;
    }
    if (e.reason === KVM_EXIT_IO) {
      values.push(...e.ucall.values);
      if (e.ucall.cmd === 'done') break;
      continue;
    }
    if (e.reason !== KVM_EXIT_MMIO || e.mmio.physAddr !== gpa(i) || e.mmio.isWrite || e.mmio.len !== 4) {
      t.fail(`exit ${i}: expected a 4-byte MMIO read of ${gpa(i)}, got ${describe(e)}`);
      return;
    }
    new DataView(e.mmio.data.buffer, e.mmio.data.byteOffset, 8).setUint32(0, i ^ 0x5a5a5a5a, true);
    i++;
    if (Date.now() > deadline) {
      t.fail(`only ${i} of ${n} round trips in 60 s: a wake-up was lost or slept out its timeout`);
      return;
    }
  }
  t.is(i, n, 'one exit per read');
  t.deepEqual(values, Array.from({ length: n }, (_, k) => (k ^ 0x5a5a5a5a) >>> 0), 'every read completed with the value the VMM wrote for it');
  const s = vcpu.pollStats();
  if (runPollNs === 0) {
    t.deepEqual([s.vcpu.successfulPolls, s.vmm.successfulPolls, s.vcpu.windowNs, s.vmm.windowNs], [0, 0, 0, 0], 'runPollNs 0 never polls');
  } else {
    t.true(s.vcpu.successfulPolls + s.vmm.successfulPolls > 0, `someone caught the other side while polling: ${JSON.stringify(s)}`);
    t.true(s.vcpu.windowNs <= runPollNs && s.vmm.windowNs <= runPollNs);
  }
}

// Every mix of spinning and sleeping on both sides: 0 always sleeps; 1 µs polls but misses almost
// always (so sleep and wake-up race with the other side's store); 200 µs catches nearly every exit.
for (const [runPollNs, n] of [[0, 3000], [1_000, 10_000], [200_000, 20_000]] as const) {
  test(`KVM_RUN handoff stress, runPollNs ${runPollNs}: ${n} MMIO exits between the VMM and a vCPU thread, none lost, each completed with its own data`, async (t) => {
    await roundTrips(t, runPollNs, n);
  });
}

test('createVcpu rejects a bad runPollNs before it starts a thread', async (t) => {
  const vm = newVm(t);
  addSlot(vm, { slot: 0, gpa: RAM, size: 1 * MiB });
  for (const bad of [-1, 0.5, 2 ** 31]) {
    await t.throwsAsync(createVcpu(vm, 0, { guest: 'ops', args: { ops: [] } }, { runPollNs: bad }), {
      instanceOf: RangeError, message: /options\.runPollNs must be an integer number of ns/,
    });
  }
  t.true(vm.shared.vcpus.isFree(0), 'no vCPU line was taken');
});
