/**
 * `cpus` processors shared by the runnable threads: processor sharing, as a time-slicing scheduler
 * looks from far enough away. With k threads on the CPUs each advances at min(1, cpus / k) µs of
 * work per µs. Kept in virtual time (the work every running thread has done since the start), so
 * each change of k costs O(log k): running threads finish in the order of their virtual finish.
 */
import type { Sim, SimThread } from './sim.js';

/** The processors of a simulation. */
export class Processors {
  private vnow = 0; // virtual time: work done by each running thread since the start
  private last = 0; // real time vnow was last brought up to date
  private readonly vfin: number[] = [];
  private readonly th: SimThread[] = [];
  /** Busy CPU-µs (work done), for utilisation. */
  work = 0;

  constructor(readonly cpus: number, private readonly sim: Sim) {
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`model: cpus must be a positive integer (got ${cpus})`);
  }

  /** Threads on the CPUs now. */
  get running(): number {
    return this.th.length;
  }

  private rate(): number {
    const k = this.th.length;
    return k <= this.cpus ? 1 : this.cpus / k;
  }

  private advance(): void {
    const now = this.sim.now;
    if (this.th.length > 0) this.vnow += (now - this.last) * this.rate();
    this.last = now;
  }

  /** `th` needs `us` µs of CPU. */
  submit(th: SimThread, us: number): void {
    this.advance();
    this.work += us;
    const f = this.vnow + us;
    const v = this.vfin; const t = this.th;
    let i = v.length;
    v.push(f); t.push(th);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (v[p] <= f) break;
      v[i] = v[p]; t[i] = t[p];
      i = p;
    }
    v[i] = f; t[i] = th;
  }

  /** Real time at which the next running thread finishes its work, or Infinity. */
  nextCompletion(): number {
    if (this.th.length === 0) return Infinity;
    return this.last + (this.vfin[0] - this.vnow) / this.rate();
  }

  /** Takes the thread that finishes now off the CPUs and resumes it. */
  complete(): void {
    this.advance();
    const v = this.vfin; const t = this.th;
    const top = t[0];
    const lv = v.pop()!; const lt = t.pop()!;
    const n = v.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && v[r] < v[l] ? r : l;
        if (lv <= v[c]) break;
        v[i] = v[c]; t[i] = t[c];
        i = c;
      }
      v[i] = lv; t[i] = lt;
    }
    this.sim.resumeNow(top);
  }
}
