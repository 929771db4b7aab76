/**
 * `cpus` processors shared by the runnable threads: processor sharing, as a time-slicing scheduler
 * looks from far enough away. With k threads on the CPUs each advances at min(1, cpus / k) µs of
 * work per µs. Kept in virtual time (the work every running thread has done since the start), so
 * each change of k costs O(log k): running threads finish in the order of their virtual finish.
 */
import { EventHeap } from './heap.js';
import type { Sim, SimThread } from './sim.js';

/** The processors of a simulation. */
export class Processors {
  private vnow = 0; // virtual time: work done by each running thread since the start
  private last = 0; // real time vnow was last brought up to date
  /** Running threads by virtual finish time. */
  private readonly onCpu = new EventHeap();
  private seq = 0;
  /** Busy CPU-µs (work done), for utilisation. */
  work = 0;

  /**
   * `contention`: how much each busy CPU slows the others' work through what they share (caches,
   * memory, coherence traffic): with b CPUs busy, work advances 1 + contention × log2(b) times slower.
   */
  constructor(readonly cpus: number, private readonly sim: Sim, private readonly contention = 0) {
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`model: cpus must be a positive integer (got ${cpus})`);
    if (!(contention >= 0)) throw new RangeError(`model: contention must be >= 0 (got ${contention})`);
  }

  /** Threads on the CPUs now. */
  get running(): number {
    return this.onCpu.size;
  }

  private rate(): number {
    const k = this.onCpu.size;
    const busy = Math.min(k, this.cpus);
    const slow = busy > 1 && this.contention > 0 ? 1 + this.contention * Math.log2(busy) : 1;
    return (k <= this.cpus ? 1 : this.cpus / k) / slow;
  }

  private advance(): void {
    const now = this.sim.now;
    if (this.onCpu.size > 0) this.vnow += (now - this.last) * this.rate();
    this.last = now;
  }

  /** `th` needs `us` µs of CPU. */
  submit(th: SimThread, us: number): void {
    this.advance();
    this.work += us;
    this.onCpu.push(this.vnow + us, this.seq++, th);
  }

  /** Real time at which the next running thread finishes its work, or Infinity. */
  nextCompletion(): number {
    if (this.onCpu.size === 0) return Infinity;
    return this.last + (this.onCpu.peekTime() - this.vnow) / this.rate();
  }

  /** Takes the thread that finishes now off the CPUs and resumes it. */
  complete(): void {
    this.advance();
    this.sim.resumeNow(this.onCpu.pop());
  }
}
