/**
 * The configurations users ask about that no published study measured (issue 8, deliverable 4):
 * one uffd per vCPU, one reader against one per vCPU, exclusive reader wake-ups, and the exit
 * path, each with no fetch latency and with the 30 µs and 200 µs of reference §5 — on table A's
 * host with the published profile unchanged.
 *
 * Which bound holds: with a fetch latency D, a configuration's throughput at N vCPUs is under three
 * bounds — the network's, N / (D + t₁) (each vCPU waits D once per fault, and the path's own 1-vCPU
 * time t₁ besides); the readers', min(R, N) / (D + t₁) with R reader threads in all (a reader
 * fetches synchronously, as demand_paging_test's do: at most R faults in flight); and contention's,
 * the same configuration's throughput with D = 0 at the same N. The lowest binds. While the
 * network's does, adding vCPUs adds throughput in proportion; once contention's does, adding vCPUs
 * no longer helps, or hurts.
 */
import type { DemandPagingOptions } from '../options.js';
import type { CostProfile } from './costs.js';
import type { ModelResult } from './model.js';
import type { ModelPool, SweepPoint } from './sweep.js';

/** One configuration of the sweep. */
export interface Configuration {
  name: string;
  /** What it changes from table A's configuration. */
  options: Partial<DemandPagingOptions>;
}

/** The configurations, table A's first. */
export const CONFIGURATIONS: readonly Configuration[] = [
  { name: 'A: 1 uffd, N readers', options: { singleUffd: true, readers: 'per-vcpu', wake: 'all' } },
  { name: '1 uffd, 1 reader', options: { singleUffd: true, readers: 1, wake: 'all' } },
  { name: '1 uffd, N readers, excl.', options: { singleUffd: true, readers: 'per-vcpu', wake: 'exclusive' } },
  { name: 'N uffds, 1 reader each', options: { singleUffd: false, readers: 1, wake: 'all' } },
  { name: 'exits (-w)', options: { singleUffd: true, readers: 'per-vcpu', wake: 'all', exits: true } },
];

/** Reader threads in all (every uffd's) at `vcpus` vCPUs. */
function readerThreads(o: Partial<DemandPagingOptions>, vcpus: number): number {
  const perUffd = o.readers === 'per-vcpu' ? vcpus : (o.readers ?? 1);
  return o.singleUffd === false ? perUffd * vcpus : perUffd;
}

/** The fetch latencies of the sweep, µs: none, [J1]'s network and QEMU's measured round trip [Q1, Q2]. */
export const FETCH_LATENCIES_US = [0, 30, 200] as const;

/** One configuration at one fetch latency over the vCPU counts. */
export interface ConfigurationRow {
  name: string;
  fetchLatencyUs: number;
  /** Overall rate per vCPU count, pages/s (the steady state). */
  rates: number[];
  /** The network bound per vCPU count, pages/s (Infinity with no fetch latency). */
  networkBound: number[];
  /** Which bound is the lowest at each vCPU count (none without a fetch latency). */
  binding: (Bound | null)[];
  /** The first vCPU count of the sweep at which contention's bound is the lowest; null if none is (or no fetch latency). */
  contentionFrom: number | null;
}

/** A bound on a configuration's throughput (see the module's comment). */
export type Bound = 'network' | 'readers' | 'contention';

/** What the sweep found. */
export interface ConfigurationsResult {
  vcpus: number[];
  cpus: number;
  simPages: number;
  rows: ConfigurationRow[];
  events: number;
}

/**
 * Runs every configuration × fetch latency × vCPU count on `pool`, with `costs` unchanged, in
 * table A's configuration otherwise (MINOR, 64 MiB per vCPU, `cpus` CPUs).
 */
export async function modelConfigurations(pool: ModelPool, costs: CostProfile, opts: { vcpus: number[]; cpus: number; simPages: number; progress?: (done: number, total: number, r: ModelResult) => void }): Promise<ConfigurationsResult> {
  const points: SweepPoint[] = [];
  for (const cfg of CONFIGURATIONS) {
    for (const d of FETCH_LATENCIES_US) {
      for (const v of opts.vcpus) {
        // At least 4 pages per vCPU: a shared uffd's queues take a few faults per vCPU to fill (table-a.ts).
        points.push({ cpus: opts.cpus, costs, mode: 'minor', bytesPerVcpu: 64 << 20, simPages: Math.max(opts.simPages, 4 * v), exits: false, ...cfg.options, fetchLatencyUs: d, vcpus: v });
      }
    }
  }
  const results = await pool.sweep(points, opts.progress);
  const rows: ConfigurationRow[] = [];
  const at = (c: number, d: number, v: number): ModelResult => results[(c * FETCH_LATENCIES_US.length + d) * opts.vcpus.length + v];
  CONFIGURATIONS.forEach((cfg, c) => {
    FETCH_LATENCIES_US.forEach((d, di) => {
      // Steady-state rates (ModelResult.model.steadyRate), as for table A.
      const rates = opts.vcpus.map((_, vi) => at(c, di, vi).model.steadyRate);
      // t₁: the configuration's own time per fault without fetch latency at the sweep's smallest count (1 vCPU by default).
      const t1 = opts.vcpus[0] / at(c, 0, 0).model.steadyRate;
      const networkBound = opts.vcpus.map((v) => (d === 0 ? Infinity : v / (d * 1e-6 + t1)));
      const readers = (v: number): number => (cfg.options.exits === true ? v : readerThreads(cfg.options, v));
      const readersBound = opts.vcpus.map((v) => (d === 0 ? Infinity : Math.min(readers(v), v) / (d * 1e-6 + t1)));
      const contention = opts.vcpus.map((_, vi) => at(c, 0, vi).model.steadyRate);
      // The lowest bound; network before readers on a tie (as many readers as vCPUs: the same bound).
      const binding = opts.vcpus.map((_, vi): Bound | null => {
        if (d === 0) return null;
        const lowest = Math.min(networkBound[vi], readersBound[vi], contention[vi]);
        return networkBound[vi] === lowest ? 'network' : readersBound[vi] === lowest ? 'readers' : 'contention';
      });
      const k = binding.indexOf('contention');
      rows.push({ name: cfg.name, fetchLatencyUs: d, rates, networkBound, binding, contentionFrom: k < 0 ? null : opts.vcpus[k] });
    });
  });
  return { vcpus: opts.vcpus, cpus: opts.cpus, simPages: opts.simPages, rows, events: results.reduce((s, r) => s + r.model.events, 0) };
}
