/** The real 1-vCPU MINOR demand-paging runs of both paths, whose p50 latencies the profile is split from. */
import { demandPaging } from '../../demand-paging.js';
import type { Config } from './config.js';
import { f3, median } from './stats.js';

// --- 1. the real runs ----------------------------------------------------------------------------

export interface RealRuns {
  /** p50 access latency of the memory-fault-exit path and of the uffd path, 1 vCPU, µs. */
  exitP50: number;
  uffdP50: number;
  /** The guest's own work per page besides the access, µs (exit-path runs). */
  guestUs: number;
  exitRate: number;
  uffdRate: number;
  exitAvg: number;
  uffdAvg: number;
  /** Each uffd run's p50, in order. */
  uffdP50s: number[];
  /** Each exit run, in order. */
  exits: ExitRun[];
}

/** One 1-vCPU exit-path run: p50 and mean access latency, wall time per page (µs), pages/s. */
export interface ExitRun {
  p50: number;
  avg: number;
  page: number;
  rate: number;
}

/** demandPaging at 1 vCPU, MINOR, the memory-fault-exit path. */
export async function exitRun(cfg: Config): Promise<ExitRun> {
  const e = await demandPaging({ vcpus: 1, exits: true, mode: 'minor', bytesPerVcpu: cfg.exitBytes, warmupPages: cfg.warmupPages });
  if (e.verify.badPages !== 0 || e.verify.wrongWords !== 0) throw new Error('calibrate: the exit-path run read wrong pages');
  return { p50: e.latency.p50Us, avg: e.latency.avgUs, page: (e.seconds * 1e6) / e.pages, rate: e.overallRate };
}

/**
 * The exit-path figures of RealRuns from a set of exit runs: medians. The runs are short (tens of
 * ms), so the calibration spreads them over its whole length (index.ts): a slow spell of this
 * shared machine then moves the median less.
 */
export function exitFigures(ex: readonly ExitRun[]): Pick<RealRuns, 'exitP50' | 'guestUs' | 'exitRate' | 'exitAvg' | 'exits'> {
  return {
    exitP50: median(ex.map((x) => x.p50)), guestUs: median(ex.map((x) => x.page - x.avg)),
    exitRate: median(ex.map((x) => x.rate)), exitAvg: median(ex.map((x) => x.avg)), exits: [...ex],
  };
}

/**
 * demandPaging at 1 vCPU, MINOR (table A's mode), both paths alternating, `runs` times each: the
 * p50 latency of the measured accesses, and the guest's per-page work outside the access
 * (wall time per page minus the mean access latency: the memstress loop with its timing and check).
 * `before(i, guestUs)` runs between the exit run and the uffd run of each pair, `after(i)` after the pair.
 */
export async function realRuns(
  cfg: Config, say: (s: string) => void, before: (i: number, guestUs: number) => Promise<void>, after: (i: number) => Promise<void>,
): Promise<RealRuns> {
  const ex: ExitRun[] = [];
  const uf: { p50: number; avg: number; rate: number }[] = [];
  for (let i = 0; i < cfg.runs; i++) {
    const e = await exitRun(cfg);
    ex.push(e);
    await before(i, median(ex.map((x) => x.page - x.avg)));
    const u = await demandPaging({ vcpus: 1, exits: false, readers: 1, mode: 'minor', bytesPerVcpu: cfg.uffdBytes, warmupPages: cfg.warmupPages });
    if (u.verify.badPages !== 0 || u.verify.wrongWords !== 0) throw new Error('calibrate: the uffd-path run read wrong pages');
    uf.push({ p50: u.latency.p50Us, avg: u.latency.avgUs, rate: u.overallRate });
    const faults = u.uffd.faults || 1;
    const l = u.uffd.locks;
    say(`real run ${i + 1}/${cfg.runs}: exit path p50 ${f3(e.p50)} µs (${Math.round(e.rate / 1000)} K pages/s), ` +
      `uffd path p50 ${f3(u.latency.p50Us)} µs (${Math.round(u.overallRate / 1000)} K pages/s; contended acquisitions per fault: ` +
      `fd_wqh ${f3(l.fdWqh.contended / faults)}, fault_pending_wqh ${f3(l.faultPendingWqh.contended / faults)}, ` +
      `mean wait ${f3(l.fdWqh.waitUs / Math.max(1, l.fdWqh.contended))} / ${f3(l.faultPendingWqh.waitUs / Math.max(1, l.faultPendingWqh.contended))} µs)`);
    await after(i);
  }
  return {
    ...exitFigures(ex), uffdP50: median(uf.map((x) => x.p50)),
    uffdRate: median(uf.map((x) => x.rate)), uffdAvg: median(uf.map((x) => x.avg)), uffdP50s: uf.map((x) => x.p50),
  };
}
