/**
 * The helper threads of calibrateCosts (index.ts): each runs one role against the real
 * implementation, in shared memory with the main thread, and reports through the SharedArrayBuffer
 * `sab` (Int32 words and Float64 slots below) or one postMessage at the end. The main thread
 * terminates every one of them.
 *
 * Every wait on another thread is bounded (SPIN_LIMIT_MS): a helper whose partner died gives up
 * instead of spinning forever.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { attachUserfaultfd, HostMemory, SAB_MUTEX_SPINS, SabMutex, type HostMemoryHandle, type UserfaultfdHandle } from '@vcpu-rt/core';

/** Int32 words of the control SharedArrayBuffer (each on its own 64-byte line). */
export const CW = {
  /** wake-up ping-pong: the futex word each role sleeps on (WAKE + 16 · role). */
  WAKE: 0,
  /** clock offset: the main thread's ping to each role and the role's pong (PING/PONG + 16 · role). */
  PING: 32,
  PONG: 64,
  /** ping-pong: whose turn (turn % 2 is the role that acts). */
  TURN: 96,
  /** ping-pong: the shared SabMutex word (alternating mode). */
  LOCK: 112,
  /** ping-pong: each role's private SabMutex word (same-thread mode). */
  LOCK0: 128,
  LOCK1: 144,
  /** Start gate and stop flag. */
  GO: 160,
  STOP: 176,
  /** enqueuer: request number (the main thread) and acknowledged request (the helper); records to requeue. */
  REQ: 192,
  ACK: 208,
  COUNT: 224,
  /** reader: rounds the helper has gone through. */
  ROUNDS: 240,
} as const;
/** Rounds of a wake-up ping-pong at most. */
export const MAX_ROUNDS = 2048;
/**
 * Float64 slots, after the Int32 words' 16 lines: each role's pong time (PONG_T + 8 · role), then per role four arrays of MAX_ROUNDS:
 * when it ran again after round k's wake-up, when its notify of round k began and ended, and what
 * the notify returned (threads woken). stamp(role, array, k) is the slot.
 */
export const CF = { PONG_T: 128, STAMPS: 160 } as const;
export const RESUMED = 0;
export const NOTIFY_START = 1;
export const NOTIFY_END = 2;
export const NOTIFY_WOKEN = 3;
export const stamp = (role: number, array: number, k: number): number => CF.STAMPS + (role * 4 + array) * MAX_ROUNDS + k;
/** Bytes of the control buffer. */
export const CONTROL_BYTES = stamp(2, 0, 0) * 8;

/** How long any helper waits for its partner before it gives up. */
export const SPIN_LIMIT_MS = 10_000;

/** What each role is started with. */
export type CalibrateWorkerData =
  | { role: 'waker'; sab: SharedArrayBuffer; me: 0 | 1; base: number; pings: number; phases: { rounds: number; workUs: [number, number] }[]; cpu?: number }
  | { role: 'pingpong'; sab: SharedArrayBuffer; kind: 'mutex' | 'wq'; me: 0 | 1; turns: number; reps: number; host?: HostMemoryHandle; ctxs?: [number, number]; recs?: [number, number] }
  | { role: 'enqueuer'; sab: SharedArrayBuffer; host: HostMemoryHandle; ctx: number; records: number[]; addrBase: number }
  | { role: 'reader'; sab: SharedArrayBuffer; host: HostMemoryHandle; uffd: UserfaultfdHandle }
  | { role: 'faulter'; sab: SharedArrayBuffer; host: HostMemoryHandle; hva: number }
  | { role: 'switcher'; sab: SharedArrayBuffer; pair: number; side: 0 | 1 }
  | { role: 'contender'; sab: SharedArrayBuffer; me: 0 | 1; ops: number; holdUs: number; thinkUs: number; cpu?: number };

/** switcher: what one side of a pair did — hand-offs it made, the µs its Atomics.notify calls took in all, and its thread's migrations between CPUs meanwhile (NaN where the kernel does not say). */
export interface SwitcherResult {
  handoffs: number;
  notifyUs: number;
  migrations: number;
}

/** This thread's se.nr_migrations (/proc/thread-self/sched, CONFIG_SCHED_DEBUG); NaN if the kernel does not expose it. */
export function migrations(): number {
  try {
    const m = /se\.nr_migrations\s*:\s*(\d+)/.exec(readFileSync('/proc/thread-self/sched', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Pins the calling thread to one CPU (taskset from util-linux, on this thread's tid). */
export function pinTo(cpu: number): void {
  const tid = readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0];
  try {
    execFileSync('taskset', ['-pc', String(cpu), tid], { stdio: 'ignore' });
  } catch (e) {
    throw new Error(`calibrate worker: could not pin thread ${tid} to CPU ${cpu} with taskset (util-linux): ${(e as Error).message}`);
  }
}

/**
 * switcher: the pairs' turn words, one line each, after the control words' lines (SWITCH_TURN + 16 ·
 * pair), in a buffer of SWITCH_BYTES of their own (CW.GO and CW.STOP as in the control buffer).
 */
export const SWITCH_TURN = 256;
/** Pairs of switchers at most. */
export const MAX_SWITCH_PAIRS = 32;
export const SWITCH_BYTES = (SWITCH_TURN + 16 * MAX_SWITCH_PAIRS) * 4;

/** ping-pong: the median span of each operation, per mode and repeat, µs. */
export interface PingPongResult {
  me: 0 | 1;
  /** [rep] → medians of the spans of this role's operations: alt (both threads use the same line) and same (one owner). */
  alt: { a: number; b: number }[];
  same: { a: number; b: number }[];
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

function spinUntil(pred: () => boolean, what: string): void {
  const limit = performance.now() + SPIN_LIMIT_MS;
  let n = 0;
  while (!pred()) {
    if ((++n & 1023) === 0 && performance.now() > limit) throw new Error(`calibrate worker: timed out waiting for ${what}`);
  }
}

/**
 * One side of the wake-up ping-pong. First it answers `pings` clock pings from the main thread
 * (which estimates the offset between its clock and this one's from them). Then, round after
 * round, the two roles wake each other as a faulting vCPU (role 0) and a uffd reader (role 1) do:
 * each, once running, stays busy for its `workUs`, notifies the other (Atomics.store +
 * Atomics.notify on the other's word) and sleeps in Atomics.wait until the other notifies it back.
 * Stamps are on the common clock performance.timeOrigin - base + performance.now(). With `cpu`,
 * the role first pins itself to that CPU.
 */
function waker(d: Extract<CalibrateWorkerData, { role: 'waker' }>): void {
  if (d.cpu !== undefined) pinTo(d.cpu);
  const c = new Int32Array(d.sab);
  const f = new Float64Array(d.sab);
  const me = d.me;
  const other = 1 - me;
  const shift = performance.timeOrigin - d.base;
  const clock = (): number => shift + performance.now();
  for (let j = 1; j <= d.pings; j++) {
    spinUntil(() => Atomics.load(c, CW.PING + 16 * me) === j, 'a clock ping');
    f[CF.PONG_T + 8 * me] = clock();
    Atomics.store(c, CW.PONG + 16 * me, j);
  }
  // Asleep until both clocks are calibrated and the main thread opens the gate.
  const limit = performance.now() + SPIN_LIMIT_MS;
  while (Atomics.load(c, CW.GO) === 0) {
    Atomics.wait(c, CW.GO, 0, 50);
    if (performance.now() > limit) throw new Error('calibrate worker: the start gate never opened');
  }
  const mine = CW.WAKE + 16 * me;
  const theirs = CW.WAKE + 16 * other;
  let k = 0;
  for (const phase of d.phases) {
    const work = phase.workUs[me];
    for (let i = 0; i < phase.rounds; i++, k++) {
      // Role 1 first waits for role 0's notify of round k; role 0 starts each round.
      if (me === 1 || i > 0 || k > 0) {
        const want = me === 1 ? k + 1 : k;
        for (let v = Atomics.load(c, mine); v !== want; v = Atomics.load(c, mine)) {
          if (Atomics.wait(c, mine, v, SPIN_LIMIT_MS) === 'timed-out') throw new Error('calibrate worker: the other waker stopped');
        }
        f[stamp(me, RESUMED, me === 1 ? k : k - 1)] = clock();
      }
      const until = performance.now() + work / 1000;
      while (performance.now() < until);
      Atomics.store(c, theirs, k + 1);
      f[stamp(me, NOTIFY_START, k)] = clock();
      const n = Atomics.notify(c, theirs, 1);
      f[stamp(me, NOTIFY_END, k)] = clock();
      f[stamp(me, NOTIFY_WOKEN, k)] = n;
    }
  }
  // Role 0 collects the last round's notify.
  if (me === 0) {
    for (let v = Atomics.load(c, mine); v !== k; v = Atomics.load(c, mine)) Atomics.wait(c, mine, v, SPIN_LIMIT_MS);
    f[stamp(0, RESUMED, k - 1)] = clock();
  }
}

/**
 * Waits until TURN is `t`: spinning (both threads on CPUs of their own, the case measured), then, if
 * the other thread is slow to come (CPUs shared with other work), asleep until it passes the turn.
 */
function awaitTurn(c: Int32Array, t: number): void {
  for (let n = 0; n < 20000; n++) if (Atomics.load(c, CW.TURN) === t) return;
  const limit = performance.now() + SPIN_LIMIT_MS;
  for (let v = Atomics.load(c, CW.TURN); v !== t; v = Atomics.load(c, CW.TURN)) {
    Atomics.wait(c, CW.TURN, v, 1);
    if (performance.now() > limit) throw new Error('calibrate worker: timed out waiting for the other thread\'s turn');
  }
}

/**
 * One side of a ping-pong: the two roles act in turn (TURN % 2), `turns` turns each per mode and
 * repeat, timing only their operation. 'mutex': an uncontended SabMutex lock/unlock pair, on the
 * shared LOCK word (alt) or on the role's private word (same). 'wq': a real wait-queue head
 * (fault_pending_wqh of context ctxs[0]): in alt, role 0 queues record recs[0] (lock, add,
 * unlock) and role 1 unlinks it (lock, del, unlock), as a faulter and a reader do; in same, each
 * role does both, alternately, on a head and a record of its own (ctxs[me], recs[me]).
 */
function pingpong(d: Extract<CalibrateWorkerData, { role: 'pingpong' }>): PingPongResult {
  const c = new Int32Array(d.sab);
  const me = d.me;
  const shared = new SabMutex(c, CW.LOCK);
  const own = new SabMutex(c, me === 0 ? CW.LOCK0 : CW.LOCK1);
  const host = d.host ? HostMemory.attach(d.host) : undefined;
  const qShared = host && d.ctxs ? host.uffd.ctx(d.ctxs[0]).faultPendingWqh : undefined;
  const qOwn = host && d.ctxs ? host.uffd.ctx(d.ctxs[me]).faultPendingWqh : undefined;
  const recShared = d.recs ? d.recs[0] : 0;
  const recOwn = d.recs ? d.recs[me] : 0;
  const out: PingPongResult = { me, alt: [], same: [] };
  const a: number[] = new Array<number>(d.turns);
  const b: number[] = new Array<number>(d.turns);
  spinUntil(() => Atomics.load(c, CW.GO) === 1, 'the start gate');
  let turn = 0;
  try {
    for (let rep = 0; rep < d.reps; rep++) {
      for (const mode of ['same', 'alt'] as const) {
        let na = 0;
        let nb = 0;
        for (let i = 0; i < 2 * d.turns; i++, turn++) {
          if (turn % 2 !== me) continue;
          awaitTurn(c, turn);
          let t0: number;
          let t1: number;
          if (d.kind === 'mutex') {
            const m = mode === 'alt' ? shared : own;
            t0 = performance.now();
            m.lock();
            m.unlock();
            t1 = performance.now();
            a[na++] = (t1 - t0) * 1000;
          } else if (mode === 'alt') {
            const q = qShared!;
            t0 = performance.now();
            q.lock();
            if (me === 0) q.add(recShared);
            else q.del(recShared);
            q.unlock();
            t1 = performance.now();
            if (me === 0) a[na++] = (t1 - t0) * 1000;
            else b[nb++] = (t1 - t0) * 1000;
          } else {
            const q = qOwn!;
            const adding = ((i >> 1) & 1) === 0;
            t0 = performance.now();
            q.lock();
            if (adding) q.add(recOwn);
            else q.del(recOwn);
            q.unlock();
            t1 = performance.now();
            if (adding) a[na++] = (t1 - t0) * 1000;
            else b[nb++] = (t1 - t0) * 1000;
          }
          // Outside the timed span: pass the turn, waking the other if it had to sleep for it.
          Atomics.store(c, CW.TURN, turn + 1);
          Atomics.notify(c, CW.TURN);
        }
        out[mode].push({ a: median(a.slice(0, na)), b: median(b.slice(0, nb)) });
      }
    }
  } finally {
    host?.release();
  }
  return out;
}

/**
 * Puts `COUNT` records back on fault_pending_wqh of context `ctx` from this thread, for each request
 * of the main thread: dequeue and enqueue again (the real UffdCtx calls), so that every record's line
 * and the head's line were last written here, on another CPU than the walker's, as a blocked
 * faulter's record is in the kernel.
 */
function enqueuer(d: Extract<CalibrateWorkerData, { role: 'enqueuer' }>): void {
  const c = new Int32Array(d.sab);
  const host = HostMemory.attach(d.host);
  const ctx = host.uffd.ctx(d.ctx);
  try {
    for (let j = 1; ; j++) {
      while (Atomics.load(c, CW.REQ) < j && Atomics.load(c, CW.STOP) === 0) Atomics.wait(c, CW.REQ, j - 1, 50);
      if (Atomics.load(c, CW.STOP) !== 0) return;
      const n = Atomics.load(c, CW.COUNT);
      for (let i = 0; i < n; i++) {
        const r = d.records[i];
        ctx.dequeue(r);
        ctx.enqueue(r, d.addrBase + i * 4096, 0, 0);
      }
      Atomics.store(c, CW.ACK, j);
      Atomics.notify(c, CW.ACK);
    }
  } finally {
    host.release();
  }
}

/** A reader parked on fd_wqh the real way (Userfaultfd.wait → pollWait), again after every wake-up, until STOP. */
function reader(d: Extract<CalibrateWorkerData, { role: 'reader' }>): void {
  const c = new Int32Array(d.sab);
  const host = HostMemory.attach(d.host);
  const uffd = attachUserfaultfd(d.uffd, host);
  try {
    while (Atomics.load(c, CW.STOP) === 0) {
      uffd.wait(1000);
      Atomics.add(c, CW.ROUNDS, 1);
      Atomics.notify(c, CW.ROUNDS);
    }
  } finally {
    host.release();
  }
}

/**
 * A thread faulting on a registered page the real way (HostMemory.read → faultIn → handleUserfault):
 * each UFFDIO_WAKE without a resolution sends it round again (it faults and sleeps once more), until
 * the page is resolved.
 */
function faulter(d: Extract<CalibrateWorkerData, { role: 'faulter' }>): void {
  const c = new Int32Array(d.sab);
  const host = HostMemory.attach(d.host);
  try {
    host.read(d.hva, 8);
    Atomics.store(c, CW.ROUNDS, -1);
  } finally {
    host.release();
  }
}

/** contender: Float64 slots per op of role `me`, op `k`: CONTEND_SLOTS · (me · ops + k) + field (CONTEND_* below), after the control words. */
export const CONTEND_BASE = 128;
export const CONTEND_SLOTS = 6;
/** When it began to sleep in the futex (its first sleep of the op; NaN if it did not sleep) and when it ran again. */
export const CONTEND_SLEPT = 0;
export const CONTEND_RESUMED = 1;
/** When its release began, when the release's Atomics.notify ended, and whether that notify woke a thread (1) or not (0; NaN: no notify). */
export const CONTEND_RELEASE = 2;
export const CONTEND_NOTIFIED = 3;
export const CONTEND_WOKE = 4;
export const contendBytes = (ops: number): number => (CONTEND_BASE + CONTEND_SLOTS * 2 * ops) * 8;

/**
 * One of two contenders for a SabMutex (the lock word CW.LOCK), as two threads taking one
 * wait-queue lock do: `ops` times, lock, hold it `holdUs`, unlock, work `thinkUs`. The lock is
 * SabMutex's own algorithm, inlined so that each step is stamped: when a waiter began to sleep
 * and ran again, and when each release notified a sleeper and what its notify took (the clock is
 * performance.timeOrigin + performance.now(), ms).
 */
function contender(d: Extract<CalibrateWorkerData, { role: 'contender' }>): void {
  if (d.cpu !== undefined) pinTo(d.cpu);
  const c = new Int32Array(d.sab);
  const f = new Float64Array(d.sab);
  const clock = (): number => performance.timeOrigin + performance.now();
  const limit = performance.now() + SPIN_LIMIT_MS;
  while (Atomics.load(c, CW.GO) === 0) {
    Atomics.wait(c, CW.GO, 0, 50);
    if (performance.now() > limit) throw new Error('calibrate worker: the start gate never opened');
  }
  const w = CW.LOCK;
  for (let k = 0; k < d.ops; k++) {
    const b = CONTEND_BASE + CONTEND_SLOTS * (d.me * d.ops + k);
    f[b + CONTEND_SLEPT] = NaN;
    f[b + CONTEND_WOKE] = NaN;
    let st = Atomics.compareExchange(c, w, 0, 1);
    for (let s = 0; s < SAB_MUTEX_SPINS && st !== 0; s++) st = Atomics.compareExchange(c, w, 0, 1);
    if (st !== 0) {
      if (st !== 2) st = Atomics.exchange(c, w, 2);
      while (st !== 0) {
        const t = clock();
        if (Atomics.wait(c, w, 2, SPIN_LIMIT_MS) === 'timed-out') throw new Error('calibrate worker: the other contender stopped');
        if (Number.isNaN(f[b + CONTEND_SLEPT])) {
          f[b + CONTEND_SLEPT] = t;
          f[b + CONTEND_RESUMED] = clock();
        }
        st = Atomics.exchange(c, w, 2);
      }
    }
    let until = performance.now() + d.holdUs / 1000;
    while (performance.now() < until);
    f[b + CONTEND_RELEASE] = clock();
    if (Atomics.sub(c, w, 1) !== 1) {
      Atomics.store(c, w, 0);
      f[b + CONTEND_WOKE] = Atomics.notify(c, w, 1);
      f[b + CONTEND_NOTIFIED] = clock();
    }
    until = performance.now() + d.thinkUs / 1000;
    while (performance.now() < until);
  }
}

/**
 * One side of a switcher pair: the two sides pass a turn back and forth, each sleeping in
 * Atomics.wait until the other hands it over with Atomics.store + Atomics.notify, and nothing
 * else, until STOP; it times its notify calls. With more pairs than CPUs, every CPU is always busy,
 * so each hand-off costs the CPUs a sleep, a wake-up and a notify, and no CPU idles.
 */
function switcher(d: Extract<CalibrateWorkerData, { role: 'switcher' }>): SwitcherResult {
  const c = new Int32Array(d.sab);
  const turn = SWITCH_TURN + 16 * d.pair;
  const limit = performance.now() + SPIN_LIMIT_MS;
  while (Atomics.load(c, CW.GO) === 0) {
    Atomics.wait(c, CW.GO, 0, 50);
    if (performance.now() > limit) throw new Error('calibrate worker: the start gate never opened');
  }
  let handoffs = 0;
  let notifyUs = 0;
  const m0 = migrations();
  const result = (): SwitcherResult => ({ handoffs, notifyUs, migrations: migrations() - m0 });
  for (;;) {
    for (let v = Atomics.load(c, turn); (v & 1) !== d.side; v = Atomics.load(c, turn)) {
      if (Atomics.load(c, CW.STOP) !== 0) return result();
      Atomics.wait(c, turn, v, 20);
    }
    if (Atomics.load(c, CW.STOP) !== 0) {
      Atomics.add(c, turn, 1);
      Atomics.notify(c, turn);
      return result();
    }
    handoffs++;
    Atomics.add(c, turn, 1);
    const t0 = performance.now();
    Atomics.notify(c, turn);
    notifyUs += (performance.now() - t0) * 1000;
  }
}

const data = workerData as CalibrateWorkerData | undefined;
if (parentPort && data && typeof data === 'object' && 'role' in data) {
  parentPort.postMessage({ ready: true });
  let result: unknown = null;
  switch (data.role) {
    case 'waker': waker(data); break;
    case 'pingpong': result = pingpong(data); break;
    case 'enqueuer': enqueuer(data); break;
    case 'reader': reader(data); break;
    case 'faulter': faulter(data); break;
    case 'switcher': result = switcher(data); break;
    case 'contender': contender(data); break;
  }
  parentPort.postMessage({ done: true, result });
}
