/** The simulator's priority queue. */
import type { SimThread } from './sim.js';

/** A binary min-heap of threads keyed by (time, sequence): equal times come out in sequence order. */
export class EventHeap {
  private t: number[] = [];
  private s: number[] = [];
  private th: SimThread[] = [];

  get size(): number { return this.t.length; }
  peekTime(): number { return this.t[0]; }

  push(time: number, seq: number, thread: SimThread): void {
    const t = this.t; const s = this.s; const th = this.th;
    let i = t.length;
    t.push(time); s.push(seq); th.push(thread);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p] < time || (t[p] === time && s[p] < seq)) break;
      t[i] = t[p]; s[i] = s[p]; th[i] = th[p];
      i = p;
    }
    t[i] = time; s[i] = seq; th[i] = thread;
  }

  pop(): SimThread {
    const t = this.t; const s = this.s; const th = this.th;
    const top = th[0];
    const lt = t.pop()!; const ls = s.pop()!; const lth = th.pop()!;
    const n = t.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (t[r] < t[l] || (t[r] === t[l] && s[r] < s[l])) ? r : l;
        if (lt < t[c] || (lt === t[c] && ls < s[c])) break;
        t[i] = t[c]; s[i] = s[c]; th[i] = th[c];
        i = c;
      }
      t[i] = lt; s[i] = ls; th[i] = lth;
    }
    return top;
  }
}
