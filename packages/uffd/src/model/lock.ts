/**
 * A lock as the model sees a contended spinlock or cache line: FIFO, and moving it to another
 * CPU costs a transfer — when a waiter takes it over, and when a thread other than the last owner
 * takes it uncontended. The transfer is a constant, or depends on where the last owner and the
 * new one run (Topology.transferUs of their hardware threads). A thread whose line is on the way
 * stalls on its CPU; waiters in the queue wait off the CPUs (processors.ts): the CPU a spinning
 * waiter burns is not charged (docs/model.md §7). A spinlock's holder is not preempted (spin_lock
 * disables preemption).
 *
 * A lock can also be a sleeping lock (`sleeping`), as the runtime's SabMutex is: a waiter spins
 * on its CPU for a while, pays its way into the futex (Sim.sleepUs, on its CPU) and sleeps, off it
 * (sim.ts takes it through the phases). A release does not hand the lock over: it frees it, and
 * the oldest waiter tries again — when its spin or its way into the futex ends, if it is still on
 * its CPU; if it sleeps, the releaser pays the notify that wakes it, and it runs after its wake-up
 * (model.ts: none when its CPU is busy, then it waits for it). Another thread may have taken the
 * lock meanwhile (Drepper's mutex lets it barge in); the waiter then queues again.
 */
import type { Sim, SimThread, Wakeup } from './sim.js';

/** What a lock counted. */
export interface SimLockStats {
  acquisitions: number;
  contended: number;
  /** Total µs takers waited (queue plus hand-off). */
  waitUs: number;
  /** Total µs the lock was held. */
  holdUs: number;
  /** Times the lock's line moved to another hardware thread, and the µs those transfers took. */
  transfers: number;
  transferUs: number;
  /** Waiters that slept (a sleeping lock's waits longer than its spin). */
  sleeps: number;
}

/** What moving the lock from its last owner to `to` costs, µs (0 on the same hardware thread). */
export type HandoffCost = (from: SimThread, to: SimThread) => number;

/** What makes a lock a sleeping lock (CostProfile.lockSpinUs; the sleep's CPU is Sim.sleepUs). */
export interface SleepingLock {
  /** µs a waiter spins before it sleeps. */
  spinUs: number;
  /** The wake-up of a sleeper (model.ts): its latency, and the notify's cost to the releaser. */
  wakeup: Wakeup;
}

/** A FIFO lock with hand-off cost. */
export class SimLock {
  private owner: SimThread | undefined;
  private last: SimThread | undefined;
  private inTransit = false;
  private readonly queue: SimThread[] = [];
  private head = 0;
  private readonly since: number[] = [];
  private heldFrom = 0;
  private readonly cost: HandoffCost;
  readonly stats: SimLockStats = { acquisitions: 0, contended: 0, waitUs: 0, holdUs: 0, transfers: 0, transferUs: 0, sleeps: 0 };

  /**
   * `handoff`: µs to move the line to another thread, or a function of the two threads.
   * `perWaiterUs`: what each other thread waiting on the line adds to a hand-off (their requests
   * for the line queue at its home agent ahead of the new owner's); 0 for a plain FIFO lock.
   */
  constructor(readonly name: string, private readonly sim: Sim, handoff: number | HandoffCost, readonly perWaiterUs = 0, private readonly sleeping?: SleepingLock) {
    this.cost = typeof handoff === 'number' ? (from, to) => (from === to ? 0 : handoff) : (from, to) => (from === to ? 0 : handoff(from, to));
  }

  /** A sleeping lock's spin before its waiters sleep, µs; undefined for a spinlock. */
  get spinUs(): number | undefined {
    return this.sleeping?.spinUs;
  }

  /** True if `th` has the lock now; otherwise it resumes once it has it. `again`: a woken sleeper's retry (not a new acquisition). */
  acquire(th: SimThread, again = false): boolean {
    if (!again) this.stats.acquisitions++;
    // spin_lock: preemption off from the first try until the unlock.
    if (this.sleeping === undefined) th.preemptOff++;
    if (this.owner === undefined && !this.inTransit) {
      const move = this.last === undefined ? 0 : this.cost(this.last, th);
      if (move === 0) {
        this.grant(th);
        return true;
      }
      // Free, but its line is in another CPU's cache.
      this.stats.transfers++;
      this.stats.transferUs += move;
      this.inTransit = true;
      this.stats.waitUs += move;
      this.owner = th;
      this.sim.at(this.sim.now + move, th);
      this.heldFrom = this.sim.now + move;
      return false;
    }
    if (!again) this.stats.contended++;
    this.queue.push(th);
    this.since.push(this.sim.now);
    return false;
  }

  private grant(th: SimThread): void {
    this.owner = th;
    this.heldFrom = this.sim.now;
  }

  /** `th` drops the lock; the oldest waiter gets it after the hand-off. Returns the CPU µs the release costs `th` (waking a sleeper). */
  release(th: SimThread): number {
    if (this.owner !== th) throw new Error(`sim: ${th.name} releases ${this.name}, held by ${this.owner?.name ?? 'nobody'}`);
    if (this.sleeping === undefined) th.preemptOff--;
    this.stats.holdUs += this.sim.now - this.heldFrom;
    this.last = th;
    this.inTransit = false;
    if (this.head < this.queue.length) {
      const next = this.queue[this.head];
      const queued = this.since[this.head];
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.since.splice(0, this.head);
        this.head = 0;
      }
      if (this.sleeping !== undefined) {
        // Drepper's mutex: the lock is free, and the oldest waiter takes it again — when its spin or
        // its way into the futex ends if it is still on its CPU, after FUTEX_WAKE (paid by the
        // releaser) and its wake-up if it sleeps.
        this.stats.waitUs += this.sim.now - queued;
        this.owner = undefined;
        next.retry = this;
        if (next.lockPhase !== 'asleep') return 0;
        this.stats.sleeps++;
        const w = this.sleeping.wakeup(next, th);
        this.sim.at(this.sim.now + w.latencyUs, next);
        return w.notifyUs;
      }
      const move = this.cost(th, next);
      const handoff = move + (move > 0 ? this.perWaiterUs * (this.queue.length - this.head) : 0);
      if (move > 0) {
        this.stats.transfers++;
        this.stats.transferUs += handoff;
      }
      this.stats.waitUs += this.sim.now - queued + handoff;
      this.owner = next;
      this.inTransit = handoff > 0;
      this.heldFrom = this.sim.now + handoff;
      if (handoff > 0) this.sim.at(this.sim.now + handoff, next);
      else this.sim.resumeNow(next);
      return 0;
    }
    this.owner = undefined;
    return 0;
  }

  /** Whether `th`, which did not get the lock at once, keeps its CPU: its line is on the way (a stall on the CPU). */
  keepsCpu(th: SimThread): boolean {
    return this.inTransit && this.owner === th;
  }

  /** Threads waiting now. */
  get waiting(): number {
    return this.queue.length - this.head;
  }
}
