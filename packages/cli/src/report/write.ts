/** Writing a result document to disk: the `--out <dir>` of every bench, model and scenario command. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultDocument } from '../result/document.js';
import { renderReport } from './render.js';

/** Writes `result.json` and `report.html` into `dir` (created if missing); returns their paths. */
export async function writeResult(dir: string, doc: ResultDocument): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'result.json');
  const html = join(dir, 'report.html');
  await writeFile(json, `${JSON.stringify(doc, null, 2)}\n`);
  await writeFile(html, await renderReport(doc));
  return { json, html };
}
