/**
 * The result document: what `--out <dir>` writes as `result.json`, what `vcpu-rt run --json` prints,
 * and what `vcpu-rt report` renders. One document holds the sections of one run (a bench run has one
 * section, a scenario run has one per step); each section is the JSON document its bench or model
 * command prints with `--json`, so a section and a `--json` output are the same thing.
 */
import type { MachineInfo } from '../bench/stats.js';

/** The format tag of a result document; `vcpu-rt report` refuses any other. */
export const RESULT_FORMAT = 'vcpu-rt/result@1';

/** Where a scenario came from, kept so a report says what was run. */
export interface ScenarioSource {
  /** The scenario's `name`. */
  name: string;
  /** Its file, or `(embedded default)`. */
  file: string;
  /** Its description block (what it shows, which seed or paper it comes from). */
  description: string;
  /** The file's text as run. */
  text: string;
}

/**
 * One section: the `--json` document of one bench, model sweep or scenario step, tagged by `kind`.
 * Kinds: 'bench-memslots', 'bench-pci-hole', 'bench-vcpu', 'bench-demand-paging', 'bench-model',
 * 'model-demand-paging', 'model-validate', 'vm' (a scenario's own VM and timeline). Every section
 * that is compared with published figures carries them in `published`.
 */
export interface ResultSection {
  kind: string;
  /** A human title for the report's heading. */
  title: string;
  /** The command line that reproduces this section on its own, when there is one. */
  command?: string;
  /** The section's document (the bench's `--json` output). */
  data: unknown;
}

/** The whole document. */
export interface ResultDocument {
  format: typeof RESULT_FORMAT;
  /** vcpu-rt's version. */
  version: string;
  /** ISO time the run started. */
  startedAt: string;
  /** Wall time of the whole run. */
  seconds: number;
  machine: MachineInfo;
  scenario?: ScenarioSource;
  sections: ResultSection[];
}
