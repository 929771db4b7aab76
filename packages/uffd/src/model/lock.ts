/**
 * A lock as the model sees a contended spinlock or cache line: FIFO, and moving it to another
 * CPU costs a transfer — when a waiter takes it over, and when a thread other than the last owner
 * takes it uncontended. The transfer is a constant, or depends on where the last owner and the
 * new one run (Topology.transferUs of their hardware threads). Waiters wait off the CPUs.
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
  /** Times the lock's line moved to another hardware thread, and the µs those transfers took. */
  transfers: number;
  transferUs: number;
}

/** What moving the lock from its last owner to `to` costs, µs (0 on the same hardware thread). */
export type HandoffCost = (from: SimThread, to: SimThread) => number;

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
  readonly stats: SimLockStats = { acquisitions: 0, contended: 0, waitUs: 0, holdUs: 0, transfers: 0, transferUs: 0 };

  /**
   * `handoff`: µs to move the line to another thread, or a function of the two threads.
   * `perWaiterUs`: what each other thread waiting on the line adds to a hand-off (their requests
   * for the line queue at its home agent ahead of the new owner's); 0 for a plain FIFO lock.
   */
  constructor(readonly name: string, private readonly sim: Sim, handoff: number | HandoffCost, readonly perWaiterUs = 0) {
    this.cost = typeof handoff === 'number' ? (from, to) => (from === to ? 0 : handoff) : (from, to) => (from === to ? 0 : handoff(from, to));
  }

  /** True if `th` has the lock now; otherwise it resumes once it has it. */
  acquire(th: SimThread): boolean {
    this.stats.acquisitions++;
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
      const queued = this.since[this.head];
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.since.splice(0, this.head);
        this.head = 0;
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
      return;
    }
    this.owner = undefined;
  }

  /** Threads waiting now. */
  get waiting(): number {
    return this.queue.length - this.head;
  }
}
