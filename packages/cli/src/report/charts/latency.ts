/**
 * The fault-latency histogram: QEMU's postcopy-latency-dist (power-of-two µs buckets), as a share
 * of each path's faults so paths with different fault counts compare.
 */
import { PALETTE, title, type VlSpec } from './theme.js';
import { PATH_LABEL } from './paging-rate.js';

/** A path's bucket counts (bucket 0 = [0, 2) µs, i = [2^i, 2^(i+1)) µs, the last open-ended). */
export interface LatencyDist {
  path: 'uffd' | 'exit';
  dist: readonly number[];
  p50Us: number;
  p99Us: number;
}

function unit(us: number): string {
  return us >= 1 << 20 ? `${us / (1 << 20)}M` : us >= 1024 ? `${us / 1024}k` : `${us}`;
}

/** The axis label of bucket `i` of `n`. */
export function bucketLabel(i: number, n: number): string {
  if (i === 0) return '<2';
  if (i === n - 1) return `≥${unit(2 ** i)}`;
  return `${unit(2 ** i)}–${unit(2 ** (i + 1))}`;
}

/** The rows the chart draws: one bar per path and bucket from the first bucket any path used to the last. */
export function latencyRows(dists: readonly LatencyDist[]): { bucket: number; label: string; pathLabel: string; share: number; count: number }[] {
  const n = Math.max(0, ...dists.map((d) => d.dist.length));
  const used = (i: number) => dists.some((d) => (d.dist[i] ?? 0) > 0);
  let first = 0;
  while (first < n && !used(first)) first++;
  let last = n - 1;
  while (last > first && !used(last)) last--;
  const rows = [];
  for (const d of dists) {
    const total = d.dist.reduce((s, v) => s + v, 0) || 1;
    for (let i = first; i <= last && i < n; i++) {
      rows.push({ bucket: i, label: bucketLabel(i, n), pathLabel: PATH_LABEL[d.path], share: (100 * (d.dist[i] ?? 0)) / total, count: d.dist[i] ?? 0 });
    }
  }
  return rows;
}

/** The spec, for `vcpus` vCPUs. */
export function latencySpec(dists: readonly LatencyDist[], vcpus: number): VlSpec {
  const rows = latencyRows(dists);
  const labels = [...new Map(rows.map((r) => [r.bucket, r.label])).entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  const sub = dists.map((d) => `${PATH_LABEL[d.path]}: p50 ${d.p50Us.toFixed(1)} µs, p99 ${d.p99Us.toFixed(1)} µs`);
  const paths = dists.map((d) => PATH_LABEL[d.path]);
  return {
    title: title(`Fault latency at ${vcpus} vCPU${vcpus > 1 ? 's' : ''} (postcopy-latency-dist)`, sub),
    width: 440, height: 240,
    data: { values: rows },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'label', type: 'ordinal', sort: labels, title: 'fault latency (µs, power-of-two buckets)', axis: { labelAngle: -40 } },
      xOffset: { field: 'pathLabel', sort: paths },
      y: { field: 'share', type: 'quantitative', title: 'share of faults (%)' },
      color: { field: 'pathLabel', type: 'nominal', title: 'path', scale: { domain: [PATH_LABEL.uffd, PATH_LABEL.exit], range: [PALETTE.uffd, PALETTE.exit] } },
      tooltip: [{ field: 'pathLabel' }, { field: 'label' }, { field: 'count' }, { field: 'share', format: '.1f' }],
    },
  };
}
