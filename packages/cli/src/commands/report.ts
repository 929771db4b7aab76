/** `vcpu-rt report <result.json> [--out <dir>]`: renders a saved result document again. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { readResult, ResultFileError } from '../report/read.js';
import { renderReport } from '../report/render.js';

/** Renders `file` to `report.html` in `outDir` (default: beside the file); returns the page's path. */
export async function rerender(file: string, outDir?: string): Promise<string> {
  const doc = await readResult(file);
  const dir = outDir ?? dirname(file);
  await mkdir(dir, { recursive: true });
  const html = join(dir, 'report.html');
  await writeFile(html, await renderReport(doc));
  return html;
}

/** Adds the `report` command to `program`. */
export function addReportCommand(program: Command): void {
  program.command('report')
    .description('render a saved result.json (from --out or `run`) to report.html again')
    .argument('<result.json>', 'a result document')
    .option('--out <dir>', 'where to write report.html (default: beside the result)')
    .action(async (file: string, o: { out?: string }) => {
      try {
        process.stdout.write(`${await rerender(file, o.out)}\n`);
      } catch (e) {
        // A bad file is the user's input, not a crash: say what and why, no stack.
        if (!(e instanceof ResultFileError)) throw e;
        process.stderr.write(`vcpu-rt: ${e.message}\n`);
        process.exitCode = 2;
      }
    });
}
