/** The one error a scenario can end with: where it is, which field, which rule; never a stack trace. */

/** Where an error points: a place in the scenario file, or a `--set` override. */
export type ErrorSource =
  | { file: string; line: number; col: number }
  | { override: string };

/**
 * A bad scenario, or an engine error while one runs, located in the scenario: the message is
 * `<file>:<line>:<col>: <path>: <rule>` (or `--set <path=value>: <path>: <rule>` when the field came
 * from an override), so that an editor can jump to it and a person can read it without a stack.
 */
export class ScenarioError extends Error {
  constructor(readonly source: ErrorSource, readonly path: string, readonly rule: string) {
    super(`${'file' in source ? `${source.file}:${source.line}:${source.col}` : `--set ${source.override}`}: ${path}: ${rule}`);
    this.name = 'ScenarioError';
  }

  /** Line of the error in its file (0 for an override). */
  get line(): number {
    return 'file' in this.source ? this.source.line : 0;
  }

  /** Column of the error in its file (0 for an override). */
  get col(): number {
    return 'file' in this.source ? this.source.col : 0;
  }
}
