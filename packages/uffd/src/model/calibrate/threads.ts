/** Measurements with helper threads: wake-ups, lock sleeps and the halt-poll window, lock hand-off ping-pongs, the remote wake walk, wakes of real sleepers, switchers. */
import type { HostMemory } from '@vcpu-rt/core';
import type { BenchVm } from './bench-vm.js';
import { ADDR, FAR, fakeRecord, PAGE, type Config } from './config.js';
import type { Helpers } from './helpers.js';
import { fitLine, median, now, quantile, sleepMs, spinUntil, spinUs } from './stats.js';
import {
  CF, contendBytes, CONTEND_BASE, CONTEND_NOTIFIED, CONTEND_RELEASE, CONTEND_RESUMED, CONTEND_SLEPT, CONTEND_SLOTS, CONTEND_WOKE, CONTROL_BYTES, CW, MAX_ROUNDS, MAX_SWITCH_PAIRS, NOTIFY_END, NOTIFY_START, NOTIFY_WOKEN, RESUMED, SPIN_LIMIT_MS, stamp, SWITCH_BYTES, type PingPongResult,
  type SwitcherResult,
} from './worker.js';

// --- 4. measurements with helper threads ---------------------------------------------------------

/** One wake-up: from the notify to the woken thread running, the notifier's Atomics.notify call, how long the woken thread had slept; µs. */
export interface WakeSample {
  wake: number;
  notify: number;
  idle: number;
}

/** The phases of one wake-up ping-pong (each: its rounds' samples) and the clock calibration. */
export interface WakeupSamples {
  phases: WakeSample[][];
  offsetUs: [number, number];
  rttUs: [number, number];
}

/**
 * Wake-up latency with two helper threads that wake each other in the rhythm of a 1-vCPU uffd
 * run: role 0 (the vCPU) works `workUs[0]` µs, notifies role 1 and sleeps; role 1 (the reader)
 * runs, works `workUs[1]` µs, notifies role 0 and sleeps; and so on. Each stamps when its notify
 * began and when it ran again, on the common clock performance.timeOrigin + performance.now(),
 * corrected by the residual offset of each helper's clock from this thread's (from ping-pongs: the
 * one with the shortest round trip). A notify that woke nobody (the other was not asleep yet) is no
 * sample; the first `skip` rounds of each phase neither.
 *
 * `pins`: the CPU each role pins itself to — [0, 1] makes every wake-up cross to the other CPU,
 * [0, 0] keeps both on one (the woken thread runs on its waker's CPU).
 */
export async function wakeups(helpers: Helpers, phases: { rounds: number; workUs: [number, number]; skip: number }[], pins?: [number, number]): Promise<WakeupSamples> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const f = new Float64Array(sab);
  const pings = 200;
  const roles = [0, 1] as const;
  const started = [];
  const spec = phases.map((p) => ({ rounds: p.rounds, workUs: p.workUs }));
  if (phases.reduce((n, p) => n + p.rounds, 0) > MAX_ROUNDS) throw new RangeError('calibrate: too many wake-up rounds');
  for (const me of roles) started.push(await helpers.start({ role: 'waker', sab, me, base: performance.timeOrigin, pings, phases: spec, cpu: pins?.[me] }));
  const offset: [number, number] = [0, 0];
  const rtt: [number, number] = [Infinity, Infinity];
  for (const me of roles) {
    for (let j = 1; j <= pings; j++) {
      const t1 = now();
      Atomics.store(c, CW.PING + 16 * me, j);
      spinUntil(() => Atomics.load(c, CW.PONG + 16 * me) === j, 'a clock pong');
      const t3 = now();
      if (t3 - t1 < rtt[me]) {
        rtt[me] = t3 - t1;
        offset[me] = f[CF.PONG_T + 8 * me] - (t1 + t3) / 2;
      }
    }
  }
  Atomics.store(c, CW.GO, 1);
  Atomics.notify(c, CW.GO);
  await Promise.all(started.map((x) => x.done));
  const out: WakeSample[][] = [];
  let k0 = 0;
  for (const phase of phases) {
    const samples: WakeSample[] = [];
    for (let k = k0 + phase.skip; k < k0 + phase.rounds; k++) {
      for (const me of roles) {
        const other = 1 - me;
        // `me` notified `other` in round k; `other` ran again at RESUMED[other][k].
        if (f[stamp(me, NOTIFY_WOKEN, k)] !== 1) continue;
        const start = f[stamp(me, NOTIFY_START, k)] - offset[me];
        // When `other` went to sleep: after its own notify (role 1's of the round before, role 0's of this round).
        const slept = other === 1 ? (k > 0 ? f[stamp(1, NOTIFY_END, k - 1)] : NaN) : f[stamp(0, NOTIFY_END, k)];
        samples.push({
          wake: (f[stamp(other, RESUMED, k)] - offset[other] - start) * 1000,
          notify: (f[stamp(me, NOTIFY_END, k)] - f[stamp(me, NOTIFY_START, k)]) * 1000,
          idle: (start - (slept - offset[other])) * 1000,
        });
      }
    }
    out.push(samples);
    k0 += phase.rounds;
  }
  return { phases: out, offsetUs: [offset[0] * 1000, offset[1] * 1000], rttUs: [rtt[0] * 1000, rtt[1] * 1000] };
}

/** What one kind of wake-up (woken onto an idle CPU, a busy one, the waker's own) cost, µs: medians of its samples. */
export interface WakeCase {
  /** Atomics.notify called → the woken thread running. */
  wakeUs: number;
  /** The waker's Atomics.notify call. */
  notifyUs: number;
  /** How long the woken thread had slept. */
  idleUs: number;
  samples: number;
}

/** The medians of a set of wake-up samples. */
export function wakeCase(samples: readonly WakeSample[]): WakeCase {
  const s = samples.filter((x) => Number.isFinite(x.wake) && x.wake > 0);
  return { wakeUs: median(s.map((x) => x.wake)), notifyUs: median(s.map((x) => x.notify)), idleUs: median(s.map((x) => x.idle)), samples: s.length };
}

/** Two helpers in turn: per role and repeat, (alternating − same-thread) medians; the median of those. */
export async function pingpong(helpers: Helpers, cfg: Config, kind: 'mutex' | 'wq', extra: { host?: HostMemory; ctxs?: [number, number]; recs?: [number, number] }): Promise<{ handoff: number; same: number }> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const turns = cfg.turns & ~1;
  const base = { role: 'pingpong' as const, sab, kind, turns, reps: cfg.pingReps, host: extra.host?.handle(), ctxs: extra.ctxs, recs: extra.recs };
  const a = await helpers.start({ ...base, me: 0 });
  const b = await helpers.start({ ...base, me: 1 });
  Atomics.store(c, CW.GO, 1);
  const [r0, r1] = (await Promise.all([a.done, b.done])) as [PingPongResult, PingPongResult];
  const diffs: number[] = [];
  const same: number[] = [];
  for (let rep = 0; rep < cfg.pingReps; rep++) {
    // mutex: each role's lock/unlock; wq: role 0 queues (a), role 1 unlinks (b), as a faulter and a reader.
    diffs.push(r0.alt[rep].a - r0.same[rep].a);
    same.push(r0.same[rep].a);
    if (kind === 'mutex') {
      diffs.push(r1.alt[rep].a - r1.same[rep].a);
      same.push(r1.same[rep].a);
    } else {
      diffs.push(r1.alt[rep].b - r1.same[rep].b);
      same.push(r1.same[rep].b);
    }
  }
  return { handoff: median(diffs), same: median(same) };
}

/**
 * The wake walk with every record's line last written by another thread (a helper dequeues and
 * enqueues the B records again before each timed wake), as the kernel's walk meets the uwq entries
 * on other CPUs' stacks: single timed wake() calls over a range matching none, per B; the slope.
 */
export async function remoteWalk(helpers: Helpers, b: BenchVm, cfg: Config, timer: number): Promise<{ slope: number; intercept: number; points: [number, number][] }> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const max = Math.max(...cfg.remoteWalkLengths);
  const records = Array.from({ length: max }, (_, i) => fakeRecord(i));
  const { done } = await helpers.start({ role: 'enqueuer', sab, host: b.vm.host.handle(), ctx: b.uffd.id, records, addrBase: ADDR });
  const points: [number, number][] = [];
  let j = 0;
  try {
    for (const B of cfg.remoteWalkLengths) {
      const us: number[] = [];
      for (let s = 0; s < Math.max(10, cfg.samples / 4) + 2; s++) {
        Atomics.store(c, CW.COUNT, B);
        Atomics.store(c, CW.REQ, ++j);
        Atomics.notify(c, CW.REQ);
        const limit = now() + SPIN_LIMIT_MS;
        while (Atomics.load(c, CW.ACK) !== j) {
          Atomics.wait(c, CW.ACK, j - 1, 5);
          if (now() > limit) throw new Error('calibrate: the enqueuer helper stopped answering');
        }
        const t0 = now();
        b.ctx.wake(FAR, PAGE);
        const t = (now() - t0) * 1000 - timer;
        if (s >= 2) us.push(t);
      }
      points.push([B, median(us)]);
    }
  } finally {
    Atomics.store(c, CW.STOP, 1);
    Atomics.notify(c, CW.REQ);
  }
  await done;
  b.ctx.wake(ADDR, max * PAGE);
  return { ...fitLine(points.map((p) => p[0]), points.map((p) => p[1])), points };
}

/** wakeReaders() with one real reader asleep in Userfaultfd.wait (pollWait), single timed calls. */
export async function realReaderWake(helpers: Helpers, b: BenchVm, cfg: Config, idleUs: number, timer: number): Promise<number> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const { done } = await helpers.start({ role: 'reader', sab, host: b.vm.host.handle(), uffd: b.uffd.handle() });
  const us: number[] = [];
  try {
    for (let s = 0; s < Math.max(10, cfg.samples / 3); s++) {
      const r = Atomics.load(c, CW.ROUNDS);
      spinUntil(() => b.ctx.fdWqh.count() === 1, 'the reader to park');
      spinUs(idleUs);
      const t0 = now();
      b.ctx.wakeReaders();
      const t = (now() - t0) * 1000 - timer;
      const limit = now() + SPIN_LIMIT_MS;
      while (Atomics.load(c, CW.ROUNDS) === r) {
        Atomics.wait(c, CW.ROUNDS, r, 5);
        if (now() > limit) throw new Error('calibrate: the reader helper stopped answering');
      }
      if (s >= 1) us.push(t);
    }
  } finally {
    Atomics.store(c, CW.STOP, 1);
  }
  for (let i = 0; i < 2000; i++) {
    b.ctx.wakeReaders();
    if (await Promise.race([done.then(() => true), sleepMs(1).then(() => false)])) break;
  }
  return median(us);
}

/** The wake walk with one real faulter asleep in handle_userfault on the page, single timed UFFDIO_WAKE walks (no resolution, so it faults again). */
export async function realFaulterWake(helpers: Helpers, b: BenchVm, cfg: Config, idleUs: number, timer: number): Promise<number> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const page = b.hva + (b.pages - 1) * PAGE;
  const { done } = await helpers.start({ role: 'faulter', sab, host: b.vm.host.handle(), hva: page });
  const us: number[] = [];
  try {
    for (let s = 0; s < Math.max(10, cfg.samples / 3); s++) {
      spinUntil(() => b.ctx.faultPendingWqh.count() === 1, 'the faulter to queue');
      spinUs(idleUs);
      const t0 = now();
      b.ctx.wake(page, PAGE);
      const t = (now() - t0) * 1000 - timer;
      if (s >= 1) us.push(t);
    }
  } finally {
    // Resolve the page: the faulter's read completes.
    b.uffd.continue(page, PAGE);
  }
  await done;
  return median(us);
}

/** What sleeping and waking cost the CPUs when none of them idles (switchers), µs per hand-off. */
export interface SwitchCost {
  /** CPU time per hand-off: cpus × wall time / hand-offs. */
  handoffUs: number;
  /** The waker's Atomics.notify per hand-off (inside handoffUs). */
  notifyUs: number;
  /** The rest: the sleeper's wait entry, switch out and in, and return (handoffUs − notifyUs). */
  sleepUs: number;
  pairs: number;
}

/**
 * Switchers (worker.ts): `pairs` pairs of helper threads, twice as many pairs as CPUs so that every
 * CPU always has a thread to run, pass turns for `ms`; repeated `reps` times, the median repeat.
 * Every hand-off then costs the CPUs what a sleep and a wake-up cost, and none is hidden in an
 * idle CPU's wake-up latency.
 */
export async function switchCost(helpers: Helpers, cpus: number, ms: number, reps: number, timer: number): Promise<SwitchCost> {
  const pairs = Math.min(MAX_SWITCH_PAIRS, 2 * cpus);
  const runs: SwitchCost[] = [];
  for (let r = 0; r < reps; r++) {
    const { wall, res } = await switchers(helpers, pairs, ms);
    const handoffs = res.reduce((n, x) => n + x.handoffs, 0);
    const handoffUs = (cpus * wall) / Math.max(1, handoffs);
    const notifyUs = Math.max(0, res.reduce((n, x) => n + x.notifyUs, 0) / Math.max(1, handoffs) - timer);
    runs.push({ handoffUs, notifyUs, sleepUs: Math.max(0, handoffUs - notifyUs), pairs });
  }
  runs.sort((a, b) => a.handoffUs - b.handoffUs);
  return runs[(runs.length - 1) >> 1];
}

/** Runs `pairs` pairs of switchers (worker.ts) for `ms`: the wall time, µs, and each side's result. */
async function switchers(helpers: Helpers, pairs: number, ms: number): Promise<{ wall: number; res: SwitcherResult[] }> {
  const sab = new SharedArrayBuffer(SWITCH_BYTES);
  const c = new Int32Array(sab);
  const started = [];
  for (let p = 0; p < pairs; p++) {
    for (const side of [0, 1] as const) started.push(await helpers.start({ role: 'switcher', sab, pair: p, side }));
  }
  const t0 = now();
  Atomics.store(c, CW.GO, 1);
  Atomics.notify(c, CW.GO);
  await sleepMs(ms);
  Atomics.store(c, CW.STOP, 1);
  const wall = (now() - t0) * 1000;
  const res = (await Promise.all(started.map((x) => x.done))) as SwitcherResult[];
  await helpers.terminateAll();
  return { wall, res };
}

/**
 * Where the scheduler runs a woken thread: `cpus` pairs of switchers, so that about as many threads
 * are runnable as there are CPUs and a thread is often woken while its last CPU is busy and another
 * idles. Linux's select_idle_sibling then moves it to the idle CPU; a guest scheduler that keeps
 * tasks on their vCPUs does not. Returns the threads' migrations per hand-off (NaN where the kernel
 * does not expose se.nr_migrations), the median of `reps` runs.
 */
export async function migrationsPerWake(helpers: Helpers, cpus: number, ms: number, reps: number): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const { res } = await switchers(helpers, Math.min(MAX_SWITCH_PAIRS, Math.max(1, cpus)), ms);
    runs.push(res.reduce((n, x) => n + x.migrations, 0) / Math.max(1, res.reduce((n, x) => n + x.handoffs, 0)));
  }
  return median(runs);
}

/** A SabMutex waiter's sleep and the release that woke it (contenders, worker.ts), µs. */
export interface LockSleep {
  /** How long it had slept when the release came. */
  asleep: number;
  /** The release's Atomics.notify. */
  notify: number;
  /** The release → the sleeper running again. */
  wake: number;
}

/**
 * Sleeps in SabMutex.lock and the releases that end them: two contenders (worker.ts) pinned to two
 * CPUs take one SabMutex `ops` times each, holding it `holdUs` and working `thinkUs` between, so
 * that now and then one finds it held, spins, sleeps and is woken by the other's release — after
 * sleeps of every length the two threads' rhythm makes. Each waiter's first sleep of an op is
 * matched with the other's first release after it that woke someone. `reps` runs, pooled.
 */
export async function lockSleeps(helpers: Helpers, ops: number, holdUs: number, thinkUs: number, reps: number): Promise<LockSleep[]> {
  const out: LockSleep[] = [];
  for (let r = 0; r < reps; r++) {
    const sab = new SharedArrayBuffer(contendBytes(ops));
    const c = new Int32Array(sab);
    const f = new Float64Array(sab);
    const started = [];
    for (const me of [0, 1] as const) started.push(await helpers.start({ role: 'contender', sab, me, ops, holdUs, thinkUs, cpu: me }));
    Atomics.store(c, CW.GO, 1);
    Atomics.notify(c, CW.GO);
    await Promise.all(started.map((x) => x.done));
    await helpers.terminateAll();
    const slot = (me: number, k: number, field: number): number => f[CONTEND_BASE + CONTEND_SLOTS * (me * ops + k) + field];
    for (const me of [0, 1]) {
      const other = 1 - me;
      let j = 0;
      // Skip the first tenth: both threads warming up.
      for (let k = Math.floor(ops / 10); k < ops; k++) {
        const slept = slot(me, k, CONTEND_SLEPT);
        if (Number.isNaN(slept)) continue;
        while (j < ops && !(slot(other, j, CONTEND_RELEASE) > slept && slot(other, j, CONTEND_WOKE) >= 1)) j++;
        if (j === ops) break;
        const release = slot(other, j, CONTEND_RELEASE);
        const resumed = slot(me, k, CONTEND_RESUMED);
        if (!(resumed > release)) continue;
        out.push({ asleep: (release - slept) * 1000, notify: (slot(other, j, CONTEND_NOTIFIED) - release) * 1000, wake: (resumed - release) * 1000 });
      }
    }
  }
  return out;
}

/**
 * The host's halt-poll window, as the lock sleeps show it. The releases' notifies have two modes
 * when the host still polls a vCPU that halted a short while ago (a cheap notify, a quicker
 * wake-up) and has descheduled one that halted longer ago (the IPI that wakes its thread): split by
 * Otsu's threshold on log notify, kept if the modes' medians differ by more than 3× and each holds
 * 5% of the sleeps. The window is then the sleep length P for which "slept at most P" best predicts
 * a cheap notify, with the share of sleeps it classifies right; and the short sleeps' wake-ups and
 * notifies are those of the sleeps up to P. With one mode: no window (0).
 */
export function haltPoll(sleeps: readonly LockSleep[]): { us: number; accuracy: number; short: LockSleep[]; cheapUs: number; dearUs: number } {
  const s = sleeps.filter((x) => x.notify > 0 && Number.isFinite(x.asleep) && x.wake > 0);
  const none = { us: 0, accuracy: 1, short: [], cheapUs: NaN, dearUs: NaN };
  if (s.length < 20) return none;
  const byNotify = [...s].sort((a, b) => a.notify - b.notify);
  const logs = byNotify.map((x) => Math.log(x.notify));
  const n = logs.length;
  const prefix = [0];
  for (const l of logs) prefix.push(prefix[prefix.length - 1] + l);
  let best = -1;
  let split = 0;
  for (let i = 1; i < n; i++) {
    const between = i * (n - i) * (prefix[i] / i - (prefix[n] - prefix[i]) / (n - i)) ** 2;
    if (between > best) {
      best = between;
      split = i;
    }
  }
  const cheapUs = median(byNotify.slice(0, split).map((x) => x.notify));
  const dearUs = median(byNotify.slice(split).map((x) => x.notify));
  if (!(dearUs > 3 * cheapUs) || split < 0.05 * n || n - split < 0.05 * n) return { ...none, cheapUs, dearUs };
  const cut = Math.sqrt(cheapUs * dearUs);
  const byAsleep = [...s].sort((a, b) => a.asleep - b.asleep);
  // P below every sleep: all predicted dear; then move P past one sleep at a time.
  let right = byAsleep.filter((x) => x.notify >= cut).length;
  let top = right;
  let us = 0;
  for (let i = 0; i < byAsleep.length; i++) {
    right += byAsleep[i].notify < cut ? 1 : -1;
    if (right > top && (i + 1 === byAsleep.length || byAsleep[i + 1].asleep > byAsleep[i].asleep)) {
      top = right;
      us = i + 1 < byAsleep.length ? (byAsleep[i].asleep + byAsleep[i + 1].asleep) / 2 : byAsleep[i].asleep;
    }
  }
  return { us, accuracy: top / s.length, short: byAsleep.filter((x) => x.asleep <= us), cheapUs, dearUs };
}

/**
 * The spread of wake-up latencies as the coefficient of variation of the log-normal distribution
 * the model draws them from: its σ from the deciles of the logs, (ln p90 − ln p10) / (2 × 1.2816),
 * then CV = √(e^σ² − 1) — robust to the rare preempted sample, and to a loaded machine's collapsed
 * median. The sets' values weighted by their sizes; sets of fewer than 10 are left out.
 */
export function wakeSpread(sets: readonly (readonly number[])[]): number {
  let sum = 0;
  let n = 0;
  for (const xs of sets) {
    const v = xs.filter((x) => Number.isFinite(x) && x > 0);
    if (v.length < 10) continue;
    const sigma = (Math.log(quantile(v, 0.9)) - Math.log(quantile(v, 0.1))) / (2 * 1.2816);
    sum += v.length * Math.sqrt(Math.expm1(sigma * sigma));
    n += v.length;
  }
  return n > 0 ? sum / n : 0;
}

/** SabMutex.lock's spin before it sleeps: SAB_MUTEX_SPINS failing compare-exchanges on a held word, µs (median of `reps` batches). */
export function mutexSpinUs(spins: number, reps: number): number {
  const w = new Int32Array(new SharedArrayBuffer(4));
  w[0] = 1;
  const batch = 1000;
  const us: number[] = [];
  let sink = 0;
  for (let r = 0; r < reps + 2; r++) {
    const t0 = now();
    for (let b = 0; b < batch; b++) for (let s = 0; s < spins; s++) sink += Atomics.compareExchange(w, 0, 0, 1);
    if (r >= 2) us.push(((now() - t0) * 1000) / batch);
  }
  if (sink < 0) throw new Error('unreachable');
  return median(us);
}
