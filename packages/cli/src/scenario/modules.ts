/**
 * Checks of a scenario's files before anything runs: module guests (found, loadable, exporting a
 * function) and cost profiles, each reported at the scenario line that names it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CostProfile } from '@vcpu-rt/uffd';
import { loadCosts } from '../model/costs.js';

/** A module guest's file, resolved against the scenario's directory. */
export function modulePath(scenarioDir: string, module: string): string {
  return resolve(scenarioDir, module);
}

/**
 * Loads the module in this thread and returns why it cannot serve as a guest, or undefined. Loading
 * runs the module's top level once more than the vCPU threads do: guests keep theirs free of effects.
 */
export async function moduleProblem(file: string, exportName: string): Promise<{ rule: string; at: 'module' | 'export' } | undefined> {
  if (!existsSync(file)) return { rule: `module file not found: ${file}`, at: 'module' };
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    return { rule: `cannot load ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, at: 'module' };
  }
  if (typeof mod[exportName] !== 'function') {
    const fns = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    return { rule: `${file} has no function export '${exportName}' (functions it exports: ${fns.join(', ') || 'none'})`, at: 'export' };
  }
  return undefined;
}

/** The cost profile `costs` names, a file resolved against the scenario's directory. */
export function scenarioCosts(scenarioDir: string, costs: string): CostProfile {
  return loadCosts(costs === 'published' || costs === 'measured' ? costs : resolve(scenarioDir, costs));
}
