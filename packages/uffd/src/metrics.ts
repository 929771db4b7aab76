/**
 * The metrics QEMU reports for postcopy, computed from each vCPU's access timeline:
 * postcopy-blocktime (total: time during which every vCPU was blocked; and per vCPU) and
 * postcopy-latency-dist (power-of-two µs buckets).
 */

/** Buckets of the latency distribution, as QEMU's postcopy-latency-dist. */
export const LATENCY_BUCKETS = 24;

/** Bucket of a latency in µs: 0 = [0, 2), i = [2^i, 2^(i+1)), the last one open-ended. */
export function latencyBucket(us: number): number {
  if (us < 2) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.floor(Math.log2(us)));
}

/** Blocktime: per vCPU, the sum of its blocked intervals; total, the time all `n` vCPUs were blocked at once. */
export function blocktime(timelines: readonly Float64Array[]): { totalUs: number; perVcpuUs: number[] } {
  const perVcpuUs = timelines.map((t) => {
    let s = 0;
    for (let i = 0; i < t.length; i += 2) s += t[i + 1] - t[i];
    return s * 1000;
  });
  const n = timelines.length;
  const events: number[] = [];
  for (const t of timelines) {
    for (let i = 0; i < t.length; i += 2) {
      events.push(t[i], 1, t[i + 1], -1);
    }
  }
  const order = Array.from({ length: events.length / 2 }, (_, i) => i);
  // Ends before starts at the same instant: touching intervals do not overlap.
  order.sort((a, b) => events[2 * a] - events[2 * b] || events[2 * a + 1] - events[2 * b + 1]);
  let blocked = 0;
  let since = 0;
  let total = 0;
  for (const i of order) {
    const at = events[2 * i];
    if (blocked === n) total += at - since;
    blocked += events[2 * i + 1];
    since = at;
  }
  return { totalUs: total * 1000, perVcpuUs };
}

/** Average, median and 99th percentile of every access's latency, and the distribution. */
export function latency(timelines: readonly Float64Array[]): { avgUs: number; p50Us: number; p99Us: number; dist: number[] } {
  const all: number[] = [];
  const dist = new Array<number>(LATENCY_BUCKETS).fill(0);
  for (const t of timelines) {
    for (let i = 0; i < t.length; i += 2) {
      const us = (t[i + 1] - t[i]) * 1000;
      all.push(us);
      dist[latencyBucket(us)]++;
    }
  }
  if (all.length === 0) return { avgUs: 0, p50Us: 0, p99Us: 0, dist };
  all.sort((a, b) => a - b);
  const q = (f: number): number => all[Math.min(all.length - 1, Math.floor(f * all.length))];
  return { avgUs: all.reduce((s, v) => s + v, 0) / all.length, p50Us: q(0.5), p99Us: q(0.99), dist };
}
