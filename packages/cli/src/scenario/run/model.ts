/** `model` steps: a sweep of the discrete-event model on the pool, as `vcpu-rt model demand-paging`. */
import { modelSweep } from '@vcpu-rt/uffd';
import { TABLE_A, TABLE_A_SOURCE } from '../../bench/published-postcopy.js';
import type { ResultSection } from '../../result/document.js';
import { scenarioCosts } from '../modules.js';
import type { Step } from '../schema/index.js';
import { engineRule, stepError, type StepContext } from './context.js';
import { pagingFlags } from './paging.js';

/** Runs a model step. */
export async function runModelStep(ctx: StepContext, step: Extract<Step, { kind: 'model' }>): Promise<ResultSection> {
  let costs;
  try {
    costs = scenarioCosts(ctx.loaded.dir, step.costs);
  } catch (e) {
    throw stepError(ctx, ['costs'], engineRule(e));
  }
  const config = {
    bytesPerVcpu: step.bytesPerVcpu, mode: step.uffdMode as 'missing' | 'minor', singleUffd: step.singleUffd, readers: step.readers,
    handlerDelayUs: step.delayUs, overlap: step.overlap, fetchLatencyUs: step.fetchLatencyUs, wake: step.wake as 'all' | 'exclusive',
  };
  const points = step.vcpus.flatMap((vcpus) => step.path.map((path) => ({ ...config, vcpus, exits: path === 'exit', cpus: step.cpus, costs, simPages: step.simPages })));
  const t0 = performance.now();
  const results = await modelSweep(points, (done, total, r) => ctx.progress.step(
    `model ${r.path} path, ${r.options.vcpus} vCPUs: ${(r.overallRate / 1000).toFixed(1)}K pages/s`, done, total));
  const wallSeconds = (performance.now() - t0) / 1000;
  return {
    kind: 'model-demand-paging', title: step.title ?? 'The discrete-event model of demand paging, beside table A',
    command: `vcpu-rt model demand-paging ${pagingFlags({ ...config, vcpus: step.vcpus, paths: step.path as ('uffd' | 'exit')[], repeats: 1, warmupPages: 0 })} ` +
      `--cpus ${step.cpus} --costs ${step.costs} --sim-pages ${step.simPages}`,
    data: { model: 'demand-paging', machine: ctx.machine, costs, wallSeconds, published: { source: TABLE_A_SOURCE, rows: TABLE_A }, results },
  };
}
