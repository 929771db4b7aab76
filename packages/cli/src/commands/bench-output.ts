/**
 * What a bench or model command does with its figures: the table or the `--json` document on
 * stdout, and with `--out <dir>` the same document as a one-section result with its report.
 * Progress goes to stderr through createProgress, so stdout stays clean for the JSON.
 */
import { createProgress, type Progress } from '../progress.js';
import { reproduceCommand } from '../report/command-line.js';
import { resultDocument } from '../report/document.js';
import { writeResult } from '../report/write.js';

/** The options every bench and model command shares. */
export interface OutputFlags {
  json?: boolean;
  out?: string;
}

/** A command's figures, ready to print and save. */
export interface BenchOutput {
  /** The section kind (docs/reports.md). */
  kind: string;
  title: string;
  /** The `--json` document. */
  data: object;
  /** The people's table, made only when it is printed. */
  table: () => string;
  startedAt: Date;
}

/** The progress reporter of a command. */
export function commandProgress(label: string): Progress {
  return createProgress({ label });
}

/** Prints the table or the JSON document; with `--out`, writes the result and its report and says where. */
export async function emit(o: BenchOutput, flags: OutputFlags): Promise<void> {
  process.stdout.write(flags.json ? `${JSON.stringify(o.data, null, 2)}\n` : `${o.table()}\n`);
  if (!flags.out) return;
  const doc = resultDocument([{ kind: o.kind, title: o.title, command: reproduceCommand(), data: o.data }], o.startedAt);
  const paths = await writeResult(flags.out, doc);
  // With --json, stdout holds exactly one JSON document; the paths go beside the progress.
  (flags.json ? process.stderr : process.stdout).write(`result: ${paths.json}\nreport: ${paths.html}\n`);
}
