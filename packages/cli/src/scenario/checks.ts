/**
 * The checks of a valid scenario that the schema cannot make: cost files and module guests (the
 * file system), and demand-paging sizes (the engine's option rules) — before anything runs.
 */
import type { ScenarioError } from './errors.js';
import { moduleProblem, modulePath, scenarioCosts } from './modules.js';
import { pagingProblem } from './paging-check.js';
import type { SourceMap } from './positions.js';
import { benchPagingRun, postcopyRun } from './run/paging.js';
import type { Scenario } from './schema/index.js';

/** Throws the first problem as a ScenarioError made by `error`. */
export async function checkSteps(scenario: Scenario, dir: string, source: SourceMap,
  error: (path: readonly PropertyKey[], rule: string, at?: 'value' | 'key') => ScenarioError): Promise<void> {
  for (const [s, step] of scenario.steps.entries()) {
    if (step.kind === 'model') {
      try {
        scenarioCosts(dir, step.costs);
      } catch (e) {
        throw error(['steps', s, 'costs'], (e as Error).message.replace(/^--costs:? ?/, ''));
      }
    }
    const paging = step.kind === 'postcopy' ? postcopyRun(step) : step.kind === 'bench' && step.bench === 'demand-paging' ? benchPagingRun(step) : undefined;
    const problem = paging && pagingProblem(paging);
    if (problem) {
      // The engine names its own option; the scenario's key for it, where they differ.
      const key = { singleUffd: step.kind === 'postcopy' ? 'uffds' : 'singleUffd', handlerDelayUs: 'delayUs', mode: step.kind === 'postcopy' ? 'mode' : 'uffdMode' }[problem.option] ?? problem.option;
      throw error(['steps', s, source.has(['steps', s, key]) ? key : 'vcpus'], problem.rule);
    }
    if (step.kind !== 'vm') continue;
    for (const [v, vcpu] of step.vcpus.entries()) {
      if (vcpu.guest !== 'module') continue;
      const bad = await moduleProblem(modulePath(dir, vcpu.module), vcpu.export);
      if (bad) throw error(['steps', s, 'vcpus', v, bad.at === 'export' && source.has(['steps', s, 'vcpus', v, 'export']) ? 'export' : 'module'], bad.rule, 'key');
    }
  }
}
