/**
 * A lock as the model sees a contended spinlock or cache line: FIFO, and moving it to another
 * CPU costs `handoffUs` (the cache-line transfer) — when a waiter takes it over, and when a thread
 * other than the last owner takes it uncontended. Waiters wait off the CPUs.
 */
import type { Sim, SimThread } from './sim.js';

/** What a lock counted. */
export interface SimLockStats {
  acquisitions: number;
  contended: number;
  /** Total µs takers waited (queue plus hand-off). */
  waitUs: number;
  /** Total µs the lock was held. */
  holdUs: number;
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
  readonly stats: SimLockStats = { acquisitions: 0, contended: 0, waitUs: 0, holdUs: 0 };

  /**
   * `handoffUs`: moving the line to another CPU. `perWaiterUs`: what each other thread waiting on
   * the line adds to a hand-off (their requests for the line queue at its home agent ahead of the
   * new owner's); 0 for a plain FIFO lock.
   */
  constructor(readonly name: string, private readonly sim: Sim, readonly handoffUs: number, readonly perWaiterUs = 0) {}

  /** True if `th` has the lock now; otherwise it resumes once it has it. */
  acquire(th: SimThread): boolean {
    this.stats.acquisitions++;
    if (this.owner === undefined && !this.inTransit) {
      if (this.last === undefined || this.last === th || this.handoffUs === 0) {
        this.grant(th);
        return true;
      }
      // Free, but its line is in another CPU's cache.
      this.inTransit = true;
      this.stats.waitUs += this.handoffUs;
      this.owner = th;
      this.sim.at(this.sim.now + this.handoffUs, th);
      this.heldFrom = this.sim.now + this.handoffUs;
      return false;
    }
    this.stats.contended++;
    this.queue.push(th);
    this.since.push(this.sim.now);
    return false;
  }

  private grant(th: SimThread): void {
    this.owner = th;
    this.heldFrom = this.sim.now;
  }

  /** `th` drops the lock; the oldest waiter gets it after the hand-off. */
  release(th: SimThread): void {
    if (this.owner !== th) throw new Error(`sim: ${th.name} releases ${this.name}, held by ${this.owner?.name ?? 'nobody'}`);
    this.stats.holdUs += this.sim.now - this.heldFrom;
    this.last = th;
    this.inTransit = false;
    if (this.head < this.queue.length) {
      const next = this.queue[this.head];
      this.stats.waitUs += this.sim.now - this.since[this.head] + this.handoffUs;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.since.splice(0, this.head);
        this.head = 0;
      }
      const handoff = this.handoffUs + this.perWaiterUs * (this.queue.length - this.head);
      this.stats.waitUs += handoff - this.handoffUs;
      this.owner = next;
      this.inTransit = handoff > 0;
      this.heldFrom = this.sim.now + handoff;
      if (handoff > 0) this.sim.at(this.sim.now + handoff, next);
      else this.sim.resumeNow(next);
      return;
    }
    this.owner = undefined;
  }

  /** Threads waiting now. */
  get waiting(): number {
    return this.queue.length - this.head;
  }
}
