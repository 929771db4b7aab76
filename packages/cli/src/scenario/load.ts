/**
 * Reading a scenario: the file, YAML with source positions, `--set` overrides, the zod schema, and
 * the checks that need the file system. Everything that fails is a ScenarioError located in the file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ScenarioError, type ErrorSource } from './errors.js';
import { problems, ruleOf } from './issues.js';
import { checkSteps } from './checks.js';
import { applyOverrides, parseOverride, type Override } from './overrides.js';
import { formatPath, startsWith } from './path.js';
import { SourceMap } from './positions.js';
import { scenarioSchema, type Scenario } from './schema/index.js';

/** A scenario ready to run, with what is needed to point at any of its fields. */
export interface LoadedScenario {
  /** The file as named (relative paths stay relative: messages show them as given). */
  file: string;
  /** Its directory: module guests and cost files are relative to it. */
  dir: string;
  text: string;
  scenario: Scenario;
  overrides: readonly Override[];
  /** Where `path` is: a place in the file, or the override that set it. */
  locate(path: readonly PropertyKey[], at?: 'value' | 'key'): ErrorSource;
  /** A ScenarioError at `path`. */
  error(path: readonly PropertyKey[], rule: string, at?: 'value' | 'key'): ScenarioError;
}

/** How to load. */
export interface LoadOptions {
  /** `--set` overrides, `path=value`, applied in order. */
  overrides?: readonly string[];
  /** The text, when it does not come from `file` (tests). */
  text?: string;
}

/** The ScenarioError of every problem, first in file order; the first is thrown with the rest attached. */
export class ScenarioErrors extends ScenarioError {
  constructor(readonly all: readonly ScenarioError[]) {
    super(all[0].source, all[0].path, all[0].rule);
    this.message = all[0].message;
  }
}

function fileError(file: string, rule: string): ScenarioError {
  const e = new ScenarioError({ file, line: 0, col: 0 }, '(file)', rule);
  e.message = `${file}: ${rule}`;
  return e;
}

/** Reads, parses, overrides and validates `file`; then the checks that need files or the engine's rules. */
export async function loadScenario(file: string, options: LoadOptions = {}): Promise<LoadedScenario> {
  let text = options.text;
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw fileError(file, code === 'ENOENT' ? 'scenario file not found (no such file)' : code === 'EISDIR' ? 'is a directory, not a scenario file' : `cannot read the scenario file: ${(e as Error).message}`);
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length) {
    const all = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return new ScenarioError({ file, line: pos.line, col: pos.col }, 'YAML', e.message.split(/ at line \d+, column \d+/)[0].split('\n')[0]);
    });
    throw new ScenarioErrors(all);
  }
  const overrides = (options.overrides ?? []).map(parseOverride);
  applyOverrides(doc, overrides);
  const source = new SourceMap(doc, lines);
  const locate = (path: readonly PropertyKey[], at: 'value' | 'key' = 'value'): ErrorSource => {
    // The last override that covers the field is where it came from.
    const o = [...overrides].reverse().find((x) => startsWith(path, x.path));
    if (o) return { override: o.text };
    return { file, ...source.at(path, at) };
  };
  const error = (path: readonly PropertyKey[], rule: string, at: 'value' | 'key' = 'value') => new ScenarioError(locate(path, at), formatPath(path), rule);

  const parsed = scenarioSchema.safeParse(doc.toJS(), { reportInput: true, error: (iss) => ruleOf(iss) });
  if (!parsed.success) {
    const all = problems(parsed.error).map((p) => error(p.path, p.rule, p.at));
    all.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ScenarioErrors(all);
  }
  const scenario = parsed.data;
  const dir = dirname(resolve(file));
  await checkSteps(scenario, dir, source, error);
  return { file, dir, text, scenario, overrides, locate, error };
}
