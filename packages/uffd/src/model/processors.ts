/**
 * `cpus` processors and a scheduler for the simulated threads, as Linux's fair scheduler looks at
 * the scale of a fault: a thread that wants to run takes an idle CPU, or waits in a FIFO run queue;
 * once on a CPU it keeps it across its steps until it blocks, waits (a lock's queue, a delay off
 * the CPU) or ends, or until it has used a slice of CPU time while others wait, when it goes to the
 * back of the queue (EEVDF's base slice; a woken thread does not preempt a running one: RUN_TO_PARITY)
 * — unless it holds a spinlock, which disables preemption (lock.ts).
 * So a thread holding a lock keeps running while it holds it, unless its slice ends — then every
 * thread that needs the lock waits a whole turn of the run queue, as lock holders preempted on a
 * busy machine make them wait.
 *
 * The running threads' work advances at 1 µs per µs, slowed by `contention` when several CPUs are
 * busy. Kept in virtual time (the work each running thread has done since the start), so each
 * change costs O(log n).
 */
import { EventHeap } from './heap.js';
import type { Sim, SimThread } from './sim.js';

/** EEVDF's base slice with two or more CPUs: sysctl_sched_base_slice 0.75 ms × (1 + ilog2(min(cpus, 8))), µs. */
export function baseSliceUs(cpus: number): number {
  return 750 * (1 + Math.floor(Math.log2(Math.min(Math.max(1, cpus), 8))));
}

/** The processors of a simulation. */
export class Processors {
  private vnow = 0; // virtual time: work done by each running thread since the start
  private last = 0; // real time vnow was last brought up to date
  /** Running threads with work to do, by the virtual time of their next event (work done, or slice used up). */
  private readonly computing = new EventHeap();
  private seq = 0;
  /** Threads waiting for a CPU, oldest first. */
  private readonly queue: SimThread[] = [];
  private head = 0;
  private busy = 0;
  /** When each idle CPU went idle (a stack: a thread that wakes takes the CPU that idled last, its own if it just slept there). */
  private readonly idleSince: number[];
  private occupied = 0;
  private occupiedAt = 0;
  /** Threads sent back to the run queue at the end of a slice. */
  preemptions = 0;

  /**
   * `contention`: how much each busy CPU slows the others' work through what they share (caches,
   * memory, coherence traffic): with b CPUs busy, work advances 1 + contention × log2(b) times slower.
   * `sliceUs`: CPU time a thread runs before it yields its CPU to a waiting thread.
   */
  constructor(readonly cpus: number, private readonly sim: Sim, private readonly contention = 0, readonly sliceUs = baseSliceUs(cpus)) {
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`model: cpus must be a positive integer (got ${cpus})`);
    if (!(contention >= 0)) throw new RangeError(`model: contention must be >= 0 (got ${contention})`);
    if (!(sliceUs > 0)) throw new RangeError(`model: sliceUs must be > 0 (got ${sliceUs})`);
    this.idleSince = new Array<number>(cpus).fill(0);
  }

  /** How long the CPU the next thread to wake would take has been idle, µs; -1 if every CPU is busy. */
  idleFor(): number {
    return this.busy < this.cpus ? this.sim.now - this.idleSince[this.idleSince.length - 1] : -1;
  }

  /** CPU-µs the CPUs have had a thread on them (working, or stalled on a line) up to now: utilisation. */
  busyUs(): number {
    return this.occupied + this.busy * (this.sim.now - this.occupiedAt);
  }

  private account(): void {
    this.occupied += this.busy * (this.sim.now - this.occupiedAt);
    this.occupiedAt = this.sim.now;
  }

  private take(): void {
    this.account();
    this.busy++;
    this.idleSince.pop();
  }

  private free(): void {
    this.account();
    this.busy--;
    this.idleSince.push(this.sim.now);
  }

  /** CPUs busy now (a thread on each). */
  get running(): number {
    return this.busy;
  }

  /** Threads waiting for a CPU now. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  private rate(): number {
    const b = this.busy;
    return b > 1 && this.contention > 0 ? 1 / (1 + this.contention * Math.log2(b)) : 1;
  }

  private advance(): void {
    const now = this.sim.now;
    if (this.computing.size > 0) this.vnow += (now - this.last) * this.rate();
    this.last = now;
  }

  /** `th` wants to run: true if it is on a CPU now; otherwise it is queued and resumed once it is. */
  acquire(th: SimThread): boolean {
    if (th.onCpu) return true;
    if (this.busy < this.cpus) {
      this.advance();
      this.take();
      th.onCpu = true;
      th.slice = this.sliceUs;
      return true;
    }
    th.left = 0;
    this.queue.push(th);
    return false;
  }

  /** `th` leaves its CPU (it blocks, waits off the CPU or ends); the oldest waiting thread takes it. */
  leave(th: SimThread): void {
    if (!th.onCpu) return;
    this.advance();
    th.onCpu = false;
    this.free();
    this.dispatch();
  }

  private dispatch(): void {
    if (this.head === this.queue.length || this.busy >= this.cpus) return;
    const next = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.take();
    next.onCpu = true;
    next.slice = this.sliceUs;
    if (next.left > 0) this.run(next);
    else this.sim.resumeNow(next);
  }

  private run(th: SimThread): void {
    th.vStart = this.vnow;
    // Which comes first is decided here, not from floating-point remainders later.
    th.sliceFirst = th.slice < th.left;
    this.computing.push(this.vnow + (th.sliceFirst ? th.slice : th.left), this.seq++, th);
  }

  /** `th`, on a CPU, needs `us` µs of CPU. */
  submit(th: SimThread, us: number): void {
    if (!th.onCpu) throw new Error(`sim: ${th.name} submits work without a CPU`);
    this.advance();
    th.left = us;
    this.run(th);
  }

  /** Real time of the next event on the CPUs (work done or a slice used up), or Infinity. */
  nextCompletion(): number {
    if (this.computing.size === 0) return Infinity;
    return this.last + (this.computing.peekTime() - this.vnow) / this.rate();
  }

  /** Handles the next event on the CPUs: resumes a thread whose work is done, or ends a slice. */
  complete(): void {
    this.advance();
    const th = this.computing.pop();
    if (!th.sliceFirst) {
      th.slice -= th.left;
      th.left = 0;
      this.sim.resumeNow(th);
      return;
    }
    th.left -= th.slice;
    th.slice = 0;
    if (this.head < this.queue.length && th.preemptOff === 0) {
      // The slice is used up and a thread waits: to the back of the run queue (not while it holds a spinlock).
      this.preemptions++;
      th.onCpu = false;
      this.free();
      this.queue.push(th);
      this.dispatch();
      return;
    }
    th.slice = this.sliceUs;
    this.run(th);
  }
}
