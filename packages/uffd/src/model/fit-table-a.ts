/**
 * The table-A fit: how the FITTED fields of the published profile are set, re-runnable
 * (`vcpu-rt model fit`). Deterministic: the simulator draws from a fixed seed, the grids and the
 * search's steps are fixed, so a run reproduces PUBLISHED_FIT.
 *
 * Stage 1, the exit path, to table A's nine exit rows only: a grid over mmLines × mmHoldUs ×
 * lineSocketUs (EXIT_GRID). exitUs is not searched: at 1 vCPU no line moves, so the model's time
 * per fault is the plain sum of the path's fields, and exitUs is what 2.94 µs (1 / 340 K/s) leaves.
 *
 * Stage 2, the uffd path, to table A's nine uffd rows only, with stage 1's fields fixed: a cyclic
 * coordinate search over enqueueHoldUs, readHoldUs, wakeHoldUs, wqLines and walkPerWaiterUs (each tried ×step and
 * ÷step in turn; the step is square-rooted when a full cycle improves nothing; SEARCH). faultRetryUs
 * is not searched: each candidate's is what the 1-vCPU row (6.67 µs per fault) leaves, found by
 * simulating 1 vCPU with faultRetryUs = 0 (the retry is on the 1-vCPU critical path once per fault);
 * a candidate that leaves less than nothing is refused, so the fit meets the 1-vCPU row exactly.
 *
 * The score of a candidate is the worst |ln(model / table A)| over its path's rows (ties: the mean
 * square), the model's rate being its steady state (model.steadyRate, at tableASimPages: table A's
 * 16384 pages per vCPU leave no start-up in its rates); every other field keeps its prior (PUBLISHED_PRIORS).
 */
import { type CostProfile, PUBLISHED_PRIORS } from './costs.js';
import { modelDemandPaging, type ModelResult } from './model.js';
import { ModelPool } from './sweep.js';
import { TABLE_A_ROWS, tableAPoint } from './table-a.js';

/** The exit-path grid of stage 1. */
export const EXIT_GRID = {
  mmLines: [16, 18, 20, 22, 24],
  mmHoldUs: [0.02, 0.04, 0.06, 0.08],
  lineSocketUs: [0.3, 0.35, 0.4, 0.45, 0.5],
} as const;

/** The coordinate search of stage 2: first step (a factor), the step it stops below, and an evaluation cap. */
export const SEARCH = { step: 1.3, minStep: 1.03, maxEvaluations: 100 } as const;

/** The fields stage 2 searches. */
const UFFD_FIELDS = ['enqueueHoldUs', 'readHoldUs', 'wakeHoldUs', 'wqLines', 'walkPerWaiterUs'] as const;

/** What the fit set, and how well each path then meets table A. */
export interface TableAFit {
  /** Stage 1 (exit rows). */
  exit: { mmLines: number; mmHoldUs: number; lineSocketUs: number; exitUs: number };
  /** Stage 2 (uffd rows). */
  uffd: { enqueueHoldUs: number; readHoldUs: number; wakeHoldUs: number; wqLines: number; walkPerWaiterUs: number; faultRetryUs: number };
  /** model / table A − 1 per row (steady-state rates at tableASimPages). */
  exitErrors: number[];
  uffdErrors: number[];
  evaluations: number;
  seconds: number;
}

/** µs per fault of table A's 1-vCPU rows. */
const EXIT_1_US = 1e3 / TABLE_A_ROWS[0].exitK;
const UFFD_1_US = 1e3 / TABLE_A_ROWS[0].uffdK;

/** Worst |ln(model / published)|, plus a thousandth of the mean square to break ties. */
function score(errors: readonly number[]): number {
  const logs = errors.map((e) => Math.log(1 + e));
  return Math.max(...logs.map(Math.abs)) + 1e-3 * logs.reduce((s, x) => s + x * x, 0) / logs.length;
}

/** Rounds a fitted value to 3 significant digits (what is committed). */
const sig3 = (x: number): number => Number(x.toPrecision(3));

/** Runs both stages from `priors`; `say` hears each stage's progress. */
export async function fitTableA(options: { priors?: Omit<CostProfile, 'source'>; say?: (line: string) => void } = {}): Promise<TableAFit> {
  const priors = options.priors ?? PUBLISHED_PRIORS;
  const say = options.say ?? (() => undefined);
  const t0 = performance.now();
  const pool = new ModelPool();
  let evaluations = 0;
  const errorsOf = async (costs: CostProfile, path: 'uffd' | 'exit'): Promise<number[]> => {
    evaluations++;
    const rs: ModelResult[] = await pool.sweep(TABLE_A_ROWS.map((r) => tableAPoint(costs, r.vcpus, path)));
    return rs.map((r, i) => r.model.steadyRate / (1000 * (path === 'exit' ? TABLE_A_ROWS[i].exitK : TABLE_A_ROWS[i].uffdK)) - 1);
  };
  try {
    // Stage 1.
    const exitBase = priors.guestUs + priors.faultEntryUs + priors.claimUs + priors.continueUs + priors.reenterUs;
    let best: { s: number; exit: TableAFit['exit']; errors: number[] } | undefined;
    for (const mmLines of EXIT_GRID.mmLines) {
      for (const mmHoldUs of EXIT_GRID.mmHoldUs) {
        const exitUs = sig3(EXIT_1_US - exitBase - mmLines * mmHoldUs);
        if (exitUs < 0) continue; // the 1-vCPU row leaves nothing for the exit itself
        for (const lineSocketUs of EXIT_GRID.lineSocketUs) {
          const exit = { mmLines, mmHoldUs, lineSocketUs, exitUs };
          const errors = await errorsOf({ ...priors, ...exit, source: 'fit' }, 'exit');
          const s = score(errors);
          if (best === undefined || s < best.s) best = { s, exit, errors };
        }
      }
    }
    if (best === undefined) throw new Error('fit: no exit-path grid point leaves exitUs >= 0 at 1 vCPU');
    const exit = best.exit;
    say(`stage 1 (exit rows, ${evaluations} grid points): ${JSON.stringify(exit)}, worst error ${(100 * Math.max(...best.errors.map(Math.abs))).toFixed(0)}%`);

    // Stage 2.
    // A candidate whose 1-vCPU path already takes longer than 6.67 µs without any retry is refused.
    const withRetry = (p: Record<(typeof UFFD_FIELDS)[number], number>): CostProfile | undefined => {
      const c: CostProfile = { ...priors, ...exit, ...p, faultRetryUs: 0, source: 'fit' };
      const one = modelDemandPaging(tableAPoint(c, 1, 'uffd'));
      const faultRetryUs = sig3(UFFD_1_US - 1e6 / one.model.steadyRate);
      return faultRetryUs >= 0 ? { ...c, faultRetryUs } : undefined;
    };
    let cur = Object.fromEntries(UFFD_FIELDS.map((k) => [k, priors[k]])) as Record<(typeof UFFD_FIELDS)[number], number>;
    const start = withRetry(cur);
    if (start === undefined) throw new Error('fit: the uffd path\'s starting point already takes longer than table A\'s 1-vCPU 6.67 µs per fault');
    let curCosts = start;
    let curErrors = await errorsOf(curCosts, 'uffd');
    let curScore = score(curErrors);
    let step: number = SEARCH.step;
    const stage2From = evaluations;
    while (step >= SEARCH.minStep && evaluations - stage2From < SEARCH.maxEvaluations) {
      let improved = false;
      for (const k of UFFD_FIELDS) {
        for (const f of [step, 1 / step]) {
          const cand = { ...cur, [k]: sig3(cur[k] * f) };
          const costs = withRetry(cand);
          if (costs === undefined) continue;
          const errors = await errorsOf(costs, 'uffd');
          const s = score(errors);
          if (s < curScore) {
            cur = cand; curCosts = costs; curErrors = errors; curScore = s; improved = true;
            break;
          }
        }
      }
      if (!improved) step = Math.sqrt(step);
      say(`stage 2 (uffd rows), ${evaluations - stage2From} evaluations: ${JSON.stringify({ ...cur, faultRetryUs: curCosts.faultRetryUs })}, ` +
        `worst error ${(100 * Math.max(...curErrors.map(Math.abs))).toFixed(0)}%, step ×${step.toFixed(3)}`);
    }
    return {
      exit, uffd: { ...cur, faultRetryUs: curCosts.faultRetryUs }, exitErrors: best.errors, uffdErrors: curErrors, evaluations,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await pool.destroy();
  }
}
