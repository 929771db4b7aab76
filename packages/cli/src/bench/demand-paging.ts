/**
 * `vcpu-rt bench demand-paging`: demand_paging_test in real threads, the uffd path and the
 * memory-fault-exit path in one process run, for each vCPU count, each repeat running both paths
 * in turn so that a slow spell of the machine hits them alike.
 */
import { availableParallelism } from 'node:os';
import { demandPaging, type DemandPagingOptions, type DemandPagingRun } from '@vcpu-rt/uffd';
import { summarize } from './stats.js';

/** The two ways a fault reaches the VMM. */
export type PagingPath = 'uffd' | 'exit';
/** Both paths, in report order. */
export const PAGING_PATHS: readonly PagingPath[] = ['uffd', 'exit'];

/** One JSON row: the median run (by overall rate) of a path and vCPU count, with the spread of the repeats. */
export interface DemandPagingRow extends DemandPagingRun {
  path: PagingPath;
  vcpus: number;
  /** More runnable threads (vCPUs + readers) than the machine's CPUs. */
  oversubscribed: boolean;
  /** Overall rate of every repeat: median, min, max (pages/s). */
  overall: { median: number; min: number; max: number; repeats: number };
}

/** What to run. */
export interface DemandPagingBenchOptions extends Omit<Partial<DemandPagingOptions>, 'vcpus' | 'exits'> {
  vcpus: readonly number[];
  paths: readonly PagingPath[];
  repeats: number;
  /** Called after each run: what it measured, and runs done of the total. */
  progress?: (line: string, done: number, total: number) => void;
}

/** Runs every path and vCPU count `repeats` times; one row per path and vCPU count. */
export async function benchDemandPaging(o: DemandPagingBenchOptions): Promise<DemandPagingRow[]> {
  const { vcpus: counts, paths, repeats, progress, ...rest } = o;
  const cpus = availableParallelism();
  const rows: DemandPagingRow[] = [];
  const total = counts.length * repeats * paths.length;
  let n = 0;
  for (const vcpus of counts) {
    const runs = new Map<PagingPath, DemandPagingRun[]>(paths.map((p) => [p, []]));
    for (let r = 0; r < repeats; r++) {
      for (const path of paths) {
        const t0 = performance.now();
        const res = await demandPaging({ ...rest, vcpus, exits: path === 'exit' });
        runs.get(path)!.push(res);
        n++;
        progress?.(`${path} path, ${vcpus} vCPU${vcpus > 1 ? 's' : ''}, repeat ${r + 1}/${repeats}: ` +
          `${(res.overallRate / 1000).toFixed(1)}K pages/s, ${res.pages} pages in ${res.seconds.toFixed(3)} s, ` +
          `${(Math.abs(res.alloc.bytesPerFault) < 0.005 ? 0 : res.alloc.bytesPerFault).toFixed(2)} B/fault after ${res.warmup.rounds} warm-up rounds (run ${((performance.now() - t0) / 1000).toFixed(1)} s)`, n, total);
      }
    }
    for (const path of paths) {
      const list = runs.get(path)!;
      const s = summarize(list.map((x) => x.overallRate));
      const median = [...list].sort((a, b) => a.overallRate - b.overallRate)[(list.length - 1) >> 1];
      const readers = median.readers.threads;
      rows.push({ ...median, path, vcpus, oversubscribed: vcpus + readers > cpus, overall: { median: s.median, min: s.min, max: s.max, repeats: s.repeats } });
    }
  }
  return rows;
}
