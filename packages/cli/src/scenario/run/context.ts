/** What a step runner gets: its scenario, its place in it, and where progress goes. */
import { KvmError } from '@vcpu-rt/core';
import type { MachineInfo } from '../../bench/stats.js';
import type { Progress } from '../../progress.js';
import type { ScenarioError } from '../errors.js';
import type { LoadedScenario } from '../load.js';

/** One step being run. */
export interface StepContext {
  loaded: LoadedScenario;
  /** The step's index in `steps`. */
  index: number;
  progress: Progress;
  machine: MachineInfo;
}

/** A ScenarioError at a field of the step (`rest` is the path below `steps[i]`). */
export function stepError(ctx: StepContext, rest: readonly PropertyKey[], rule: string, at: 'value' | 'key' = 'value'): ScenarioError {
  return ctx.loaded.error(['steps', ctx.index, ...rest], rule, at);
}

/** An engine error as a rule: the errno code first, as the kernel's callers see it. */
export function engineRule(e: unknown): string {
  // KvmError messages may already start with their code.
  if (e instanceof KvmError) return e.message.startsWith(e.code) ? e.message : `${e.code}: ${e.message}`;
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}
