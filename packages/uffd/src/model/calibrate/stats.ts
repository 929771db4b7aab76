/** Measurement helpers: the clock, medians, sample bins, line fits, bounded spins, sleeps and number formatting. */
import { SPIN_LIMIT_MS } from './worker.js';

// --- helpers -------------------------------------------------------------------------------------

export const now = (): number => performance.now();

export function median(a: readonly number[]): number {
  const s = a.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** The q-quantile (0..1) of the finite values of `a`, linearly interpolated; NaN if none. */
export function quantile(a: readonly number[], q: number): number {
  const s = a.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (s.length === 0) return NaN;
  const i = q * (s.length - 1);
  const lo = Math.floor(i);
  return lo + 1 < s.length ? s[lo] + (i - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/** Samples by name, gathered over every session of a calibration (the machine's speed drifts: sessions are spread over the run). */
export class Bins {
  private readonly m = new Map<string, number[]>();

  add(k: string, v: number): void {
    let a = this.m.get(k);
    if (!a) this.m.set(k, (a = []));
    a.push(v);
  }

  /** Calls `once` `warm` times (discarded) then `reps` times, keeping what it returned under `k`. */
  run(k: string, reps: number, once: () => number, warm = 2): void {
    for (let i = 0; i < warm; i++) once();
    for (let i = 0; i < reps; i++) this.add(k, once());
  }

  med(k: string): number {
    return median(this.m.get(k) ?? []);
  }

  count(k: string): number {
    return this.m.get(k)?.length ?? 0;
  }
}

/** Least squares y = intercept + slope · x. */
export function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { slope, intercept: my - slope * mx };
}

/** Busy-waits until `pred` holds (the main thread's side of a hand-shake with a helper), bounded. */
export function spinUntil(pred: () => boolean, what: string): void {
  const limit = now() + SPIN_LIMIT_MS;
  let n = 0;
  while (!pred()) {
    if ((++n & 1023) === 0 && now() > limit) throw new Error(`calibrate: timed out waiting for ${what}`);
  }
}

/** Busy-waits `us` µs. */
export function spinUs(us: number): void {
  const until = now() + us / 1000;
  while (now() < until);
}

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const f3 = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3));

/** The cost of timing itself: two back-to-back performance.now() calls, µs. */
export function timerOverheadUs(): number {
  const d: number[] = [];
  // The first passes warm the loop up; only the last 4001 pairs count.
  for (let i = -20000; i < 4001; i++) {
    const t0 = now();
    const t1 = now();
    if (i >= 0) d.push((t1 - t0) * 1000);
  }
  return median(d);
}
