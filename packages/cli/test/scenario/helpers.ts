/** Paths and small tools the scenario tests share. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from packages/cli/dist-test/test/scenario/). */
export const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
/** The shipped scenarios. */
export const SCENARIOS = join(ROOT, 'scenarios');
/** The compiled command line. */
export const MAIN = join(ROOT, 'packages/cli/dist/main.js');

/** Runs `vcpu-rt <args>` in `cwd`. */
export function cli(args: readonly string[], cwd = ROOT, timeout = 60_000) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout, cwd });
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'vcpu-rt-scenario-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `files` (name → text) into `dir`; returns the path of the first. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return join(dir, Object.keys(files)[0]);
}

/** The lines of a scenario, joined: tests write their YAML as a list of lines so that line numbers are visible. */
export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;
