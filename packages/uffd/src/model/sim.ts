/**
 * The discrete-event simulator under the model: simulated threads are generators that yield what
 * they do next — run on a CPU for a while, wait off-CPU, take or drop a lock, block until woken —
 * and the simulator advances a clock (µs) from event to event. Events at the same time run in the
 * order they were scheduled.
 */
import { EventHeap } from './heap.js';
import { baseSliceUs, Processors, type WakePlacement } from './processors.js';
import type { SimLock } from './lock.js';

/** What a simulated thread does next. */
export type Step =
  | { readonly k: 'cpu'; readonly us: number }
  | { readonly k: 'delay'; readonly us: number }
  | { readonly k: 'lock'; readonly lock: SimLock }
  | { readonly k: 'unlock'; readonly lock: SimLock }
  /** lock, `us` of CPU work holding it, unlock: one step (the model touches many lines per fault). */
  | { readonly k: 'touch'; readonly lock: SimLock; readonly us: number }
  | { readonly k: 'block' };

/** The wake-up of sleeping thread `th` by `waker` (model.ts): after how long it runs, and what the notify costs its waker. */
export type Wakeup = (th: SimThread, waker: SimThread) => { latencyUs: number; notifyUs: number };

/** A simulated thread. */
export interface SimThread {
  readonly id: number;
  readonly name: string;
  /** The hardware thread it runs on (Topology.place): where the cache lines it writes live. */
  readonly hw: number;
  /** @internal */
  body: Generator<Step, void, void>;
  /** Set while the thread waits in a 'block' step. */
  blocked: boolean;
  /** Woken before it blocked (try_to_wake_up on a task still running): its next 'block' returns at once. */
  wokenEarly: boolean;
  /** @internal Going to sleep in a 'block': spending the sleep's entry first; a wake-up meanwhile cancels the sleep. */
  entering: boolean;
  /** @internal Let go by a sleeping lock's release (lock.ts): takes it again before its next step. */
  retry?: SimLock;
  /**
   * @internal Waiting for a sleeping lock (lock.ts): spinning on its CPU, paying its way into the
   * futex (sleepUs, on its CPU), or asleep in it.
   */
  lockPhase?: 'spin' | 'enter' | 'asleep';
  /** @internal The CPU it runs on under 'home-cpu' placement (processors.ts); -1 until it first runs. */
  home: number;
  /** @internal When it last began to go to sleep (a 'block', or a sleeping lock's futex: before the way in), µs: how long it has slept decides its wake-up (model.ts). */
  sleptAt: number;
  /** @internal On a CPU (processors.ts), its work left in the current chunk, its slice left, and vnow when the chunk (re)started. */
  onCpu: boolean;
  /** @internal Spinlocks it holds or spins on (spin_lock's preempt_disable): the scheduler does not preempt it. */
  preemptOff: number;
  left: number;
  slice: number;
  vStart: number;
  sliceFirst: boolean;
  done: boolean;
  /** @internal A 'touch' waiting for its lock: the work to do once it has it. */
  touchUs?: number;
  /** @internal The lock of a 'touch' whose work is done: released when the thread next runs. */
  touched?: SimLock;
}

/** The simulator: a clock, the event queue, the CPUs. */
export class Sim {
  /** Simulated time, µs. */
  now = 0;
  /** Events processed. */
  events = 0;
  readonly cpus: Processors;
  private readonly heap = new EventHeap();
  private seq = 0;
  private nextId = 0;
  private readonly runnable: SimThread[] = [];
  private seed = 0x9e3779b9;

  /**
   * `contention`, `placement`: see Processors. `sleepUs`: CPU a thread spends to sleep and run again
   * (CostProfile.sleepUs), paid on its CPU on the way in: a thread going to sleep in a 'block' (a
   * wake-up meanwhile cancels the sleep), and a sleeping lock's waiter once its spin is over (a
   * release meanwhile sends it back to the lock). The way back out is inside the wake-up latency.
   */
  constructor(cpus: number, contention = 0, readonly sleepUs = 0, placement: WakePlacement = 'idle-cpu') {
    this.cpus = new Processors(cpus, this, contention, baseSliceUs(cpus), placement);
  }

  /**
   * A uniform draw in [0, 1) from the simulation's own fixed-seed generator (mulberry32), so that a
   * run with the same inputs repeats exactly.
   */
  random(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let x = Math.imul(this.seed ^ (this.seed >>> 15), 1 | this.seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }

  /** An exponentially distributed draw with mean `mean`. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.random());
  }

  /** A log-normally distributed draw with mean `mean` and coefficient of variation `cv` (Box–Muller); `mean` itself when cv is 0. */
  lognormal(mean: number, cv: number): number {
    if (!(cv > 0) || !(mean > 0)) return mean;
    const s2 = Math.log(1 + cv * cv);
    const z = Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
    return mean * Math.exp(Math.sqrt(s2) * z - s2 / 2);
  }

  /** Starts a thread on hardware thread `hw`: it runs its first step at the current time. */
  spawn(name: string, body: (self: SimThread) => Generator<Step, void, void>, hw = 0): SimThread {
    const th: SimThread = { id: this.nextId++, name, hw, body: undefined as unknown as Generator<Step, void, void>, blocked: false, wokenEarly: false, entering: false, onCpu: false, home: -1, sleptAt: 0, preemptOff: 0, left: 0, slice: 0, vStart: 0, sliceFirst: false, done: false, touchUs: undefined, touched: undefined };
    th.body = body(th);
    this.at(this.now, th);
    return th;
  }

  /** @internal resumes `th` at `time`. */
  at(time: number, th: SimThread): void {
    this.heap.push(time, this.seq++, th);
  }

  /**
   * Makes a thread that blocked runnable again after `latencyUs` (its wake-up latency). A thread
   * woken before it reaches its 'block' step (or while it pays its way into the sleep) does not
   * sleep at all, as a task whose state a waker set back to running returns from schedule() at once.
   */
  wake(th: SimThread, latencyUs: number): void {
    if (!th.blocked) {
      th.wokenEarly = true;
      return;
    }
    th.blocked = false;
    this.at(this.now + latencyUs, th);
  }

  /** @internal resumes `th` now, after the current step (lock grants). */
  resumeNow(th: SimThread): void {
    this.runnable.push(th);
  }

  /** Runs until no event is left or the clock passes `untilUs`. */
  run(untilUs = Infinity): void {
    const heap = this.heap;
    for (;;) {
      let th: SimThread;
      if (this.runnable.length > 0) th = this.runnable.pop()!;
      else {
        const next = Math.min(heap.size ? heap.peekTime() : Infinity, this.cpus.nextCompletion());
        if (next === Infinity || next > untilUs) return;
        if (this.cpus.nextCompletion() <= (heap.size ? heap.peekTime() : Infinity)) {
          this.now = next;
          this.cpus.complete();
          continue;
        }
        this.now = heap.peekTime();
        th = heap.pop();
      }
      this.events++;
      this.step(th);
    }
  }

  /**
   * `th` did not get `lock` at once. It stalls on its CPU if the lock's line is on the way
   * (SimLock.keepsCpu). A waiter for a sleeping lock spins on its CPU for the lock's spinUs, then
   * pays sleepUs on it to go to sleep (step() takes it through the phases); a spinlock's waiter
   * waits off the CPUs (the spin is not charged: docs/model.md §7).
   */
  private waitFor(lock: SimLock, th: SimThread): void {
    if (lock.keepsCpu(th)) return;
    if (lock.spinUs === undefined) {
      this.cpus.leave(th);
      return;
    }
    th.lockPhase = 'spin';
    if (lock.spinUs > 0) this.cpus.submit(th, lock.spinUs);
    else this.resumeNow(th);
  }

  /** Runs `th` until it yields a step that takes time or waits; it first needs a CPU. */
  private step(th: SimThread): void {
    const cpus = this.cpus;
    if (!cpus.acquire(th)) return;
    if (th.entering) {
      th.entering = false;
      if (th.wokenEarly) th.wokenEarly = false; // woken while going to sleep: futex_wait returns at once
      else {
        th.blocked = true;
        cpus.leave(th);
        return;
      }
    }
    if (th.lockPhase !== undefined && th.retry === undefined) {
      // Still waiting for a sleeping lock: the spin is over, then the way into the futex; asleep.
      if (th.lockPhase === 'spin') {
        // Atomics.wait called: the sleep counts from here, as calibrate's lock sleeps count it.
        th.sleptAt = this.now;
        if (this.sleepUs > 0) {
          th.lockPhase = 'enter';
          cpus.submit(th, this.sleepUs);
          return;
        }
      }
      th.lockPhase = 'asleep';
      cpus.leave(th);
      return;
    }
    th.lockPhase = undefined;
    if (th.retry !== undefined) {
      const l = th.retry;
      th.retry = undefined;
      if (!l.acquire(th, true)) { this.waitFor(l, th); return; }
    }
    if (th.touchUs !== undefined) {
      // Granted the lock of a 'touch': work under it, then (next time) release it.
      const us = th.touchUs;
      th.touchUs = undefined;
      if (us > 0) { this.cpus.submit(th, us); return; }
    }
    if (th.touched !== undefined) {
      const l = th.touched;
      th.touched = undefined;
      l.release(th);
    }
    for (;;) {
      const r = th.body.next();
      if (r.done) {
        th.done = true;
        cpus.leave(th);
        return;
      }
      const s = r.value;
      switch (s.k) {
        case 'cpu':
          if (s.us > 0) { this.cpus.submit(th, s.us); return; }
          break;
        case 'delay':
          if (s.us > 0) { cpus.leave(th); this.at(this.now + s.us, th); return; }
          break;
        case 'lock':
          if (!s.lock.acquire(th)) { this.waitFor(s.lock, th); return; }
          break;
        case 'unlock': {
          const us = s.lock.release(th);
          if (us > 0) { this.cpus.submit(th, us); return; }
          break;
        }
        case 'touch':
          th.touched = s.lock;
          if (!s.lock.acquire(th)) {
            th.touchUs = s.us;
            this.waitFor(s.lock, th);
            return;
          }
          if (s.us > 0) { this.cpus.submit(th, s.us); return; }
          th.touched = undefined;
          s.lock.release(th);
          break;
        case 'block':
          if (th.wokenEarly) {
            th.wokenEarly = false;
            break;
          }
          // Atomics.wait called: the sleep counts from here, as calibrate's lock sleeps count it.
          th.sleptAt = this.now;
          if (this.sleepUs > 0) {
            th.entering = true;
            cpus.submit(th, this.sleepUs);
            return;
          }
          th.blocked = true;
          cpus.leave(th);
          return;
      }
    }
  }
}
