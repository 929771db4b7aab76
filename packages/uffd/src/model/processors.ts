/**
 * `cpus` processors and a scheduler for the simulated threads, as Linux's fair scheduler looks at
 * the scale of a fault. Where a thread that wants to run goes is the placement (WakePlacement):
 * - 'idle-cpu': any idle CPU, else one FIFO run queue (select_idle_sibling finding the idle CPU);
 * - 'home-cpu': the CPU it was placed on when it started, idle or not, else that CPU's FIFO run
 *   queue (a guest that keeps its tasks on their vCPUs: `model calibrate` counts the migrations).
 * Once on a CPU a thread keeps it across its steps until it blocks, waits (a lock's queue, a delay
 * off the CPU) or ends, or until it has used a slice of CPU time while others wait, when it goes
 * to the back of the queue (EEVDF's base slice). A woken thread does not preempt a running one
 * (RUN_TO_PARITY: the running thread keeps its slice; the threads here run for microseconds at a
 * time), and a thread holding a spinlock is not preempted at all (spin_lock disables preemption: lock.ts).
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

/** Where a runnable thread runs: any idle CPU (Linux's select_idle_sibling), or always its own (processors.ts). */
export type WakePlacement = 'idle-cpu' | 'home-cpu';

/** The placements, for validation. */
export const WAKE_PLACEMENTS: readonly WakePlacement[] = ['idle-cpu', 'home-cpu'];

/** A FIFO of threads waiting for a CPU. */
class RunQueue {
  private readonly items: SimThread[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(th: SimThread): void {
    this.items.push(th);
  }

  shift(): SimThread {
    const th = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return th;
  }
}

/** The processors of a simulation. */
export class Processors {
  private vnow = 0; // virtual time: work done by each running thread since the start
  private last = 0; // real time vnow was last brought up to date
  /** Running threads with work to do, by the virtual time of their next event (work done, or slice used up). */
  private readonly computing = new EventHeap();
  private seq = 0;
  /** Threads waiting for a CPU: one queue ('idle-cpu'), or one per CPU ('home-cpu'). */
  private readonly queues: RunQueue[];
  private busy = 0;
  /** 'home-cpu': the thread on each CPU, and how many threads call each CPU home. */
  private readonly current: (SimThread | undefined)[];
  private readonly homed: number[];
  private occupied = 0;
  private occupiedAt = 0;
  /** Threads sent back to the run queue at the end of a slice. */
  preemptions = 0;

  /**
   * `contention`: how much each busy CPU slows the others' work through what they share (caches,
   * memory, coherence traffic): with b CPUs busy, work advances 1 + contention × log2(b) times slower.
   * `sliceUs`: CPU time a thread runs before it yields its CPU to a waiting thread.
   * `placement`: where a thread that wants to run goes (WakePlacement).
   */
  constructor(readonly cpus: number, private readonly sim: Sim, private readonly contention = 0, readonly sliceUs = baseSliceUs(cpus), readonly placement: WakePlacement = 'idle-cpu') {
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`model: cpus must be a positive integer (got ${cpus})`);
    if (!(contention >= 0)) throw new RangeError(`model: contention must be >= 0 (got ${contention})`);
    if (!(sliceUs > 0)) throw new RangeError(`model: sliceUs must be > 0 (got ${sliceUs})`);
    if (!WAKE_PLACEMENTS.includes(placement)) throw new RangeError(`model: placement must be one of ${WAKE_PLACEMENTS.join(', ')} (got ${String(placement)})`);
    const home = placement === 'home-cpu';
    this.queues = Array.from({ length: home ? cpus : 1 }, () => new RunQueue());
    this.current = new Array<SimThread | undefined>(home ? cpus : 0).fill(undefined);
    this.homed = new Array<number>(home ? cpus : 0).fill(0);
  }

  /**
   * 'home-cpu': the CPU `th` runs on, chosen when it first wants to run: the one fewest threads
   * call home (fork balancing onto the idlest CPU), the lowest-numbered of those. -1 under 'idle-cpu'.
   */
  cpuOf(th: SimThread): number {
    if (this.placement !== 'home-cpu') return -1;
    if (th.home < 0) {
      let best = 0;
      for (let i = 1; i < this.cpus; i++) if (this.homed[i] < this.homed[best]) best = i;
      this.homed[best]++;
      th.home = best;
    }
    return th.home;
  }

  /** Whether `th`, made runnable now, would find its CPU idle (its wake-up is then an idle CPU's: model.ts). */
  wouldRun(th: SimThread): boolean {
    if (this.placement === 'home-cpu') return this.current[this.cpuOf(th)] === undefined;
    return this.busy < this.cpus;
  }

  /** The run queue `th` waits in. */
  private queueOf(th: SimThread): RunQueue {
    return this.queues[this.placement === 'home-cpu' ? this.cpuOf(th) : 0];
  }

  /** CPU-µs the CPUs have had a thread on them (working, or stalled on a line) up to now: utilisation. */
  busyUs(): number {
    return this.occupied + this.busy * (this.sim.now - this.occupiedAt);
  }

  private account(): void {
    this.occupied += this.busy * (this.sim.now - this.occupiedAt);
    this.occupiedAt = this.sim.now;
  }

  private take(th: SimThread): void {
    this.account();
    this.busy++;
    th.onCpu = true;
    th.slice = this.sliceUs;
    if (this.placement === 'home-cpu') this.current[th.home] = th;
  }

  private free(th: SimThread): void {
    this.account();
    this.busy--;
    th.onCpu = false;
    if (this.placement === 'home-cpu') this.current[th.home] = undefined;
  }

  /** CPUs busy now (a thread on each). */
  get running(): number {
    return this.busy;
  }

  /** Threads waiting for a CPU now. */
  get waiting(): number {
    return this.queues.reduce((n, q) => n + q.length, 0);
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
    if (this.wouldRun(th)) {
      this.advance();
      this.take(th);
      return true;
    }
    th.left = 0;
    this.queueOf(th).push(th);
    return false;
  }

  /** `th` leaves its CPU (it blocks, waits off the CPU or ends); the oldest waiting thread takes it. */
  leave(th: SimThread): void {
    if (!th.onCpu) return;
    this.advance();
    this.free(th);
    this.dispatch(this.queueOf(th));
  }

  /** The CPU a thread left is free: the oldest thread of `queue` (the one that CPU serves) takes it. */
  private dispatch(queue: RunQueue): void {
    if (queue.length === 0 || this.busy >= this.cpus) return;
    const next = queue.shift();
    this.take(next);
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
    const queue = this.queueOf(th);
    if (queue.length > 0 && th.preemptOff === 0) {
      // The slice is used up and a thread waits: to the back of the run queue (not while it holds a spinlock).
      this.preemptions++;
      this.free(th);
      queue.push(th);
      this.dispatch(queue);
      return;
    }
    th.slice = this.sliceUs;
    this.run(th);
  }
}
