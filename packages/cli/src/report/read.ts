/** Reading a saved result document back, for `vcpu-rt report`: every refusal names the file and the rule. */
import { readFile } from 'node:fs/promises';
import { RESULT_FORMAT, type ResultDocument } from '../result/document.js';
import { isObject } from './sections/shape.js';

/** A file that is not a result document. */
export class ResultFileError extends Error {}

/** The problem with `doc` as a result document, or undefined. */
export function resultProblem(doc: unknown): string | undefined {
  if (!isObject(doc)) return `must be a JSON object with "format": "${RESULT_FORMAT}"`;
  if (doc.format !== RESULT_FORMAT) return `'format' must be "${RESULT_FORMAT}" (got ${doc.format === undefined ? 'none' : JSON.stringify(doc.format)}); a bench's --json output is a section, not a result document: write one with --out`;
  if (!isObject(doc.machine) || typeof doc.machine.cpus !== 'number') return "'machine' must be an object with 'cpus'";
  if (!Array.isArray(doc.sections)) return "'sections' must be an array";
  const bad = doc.sections.findIndex((s) => !isObject(s) || typeof s.kind !== 'string' || typeof s.title !== 'string' || !('data' in s));
  if (bad >= 0) return `'sections[${bad}]' must have a string 'kind', a string 'title' and 'data'`;
  for (const k of ['version', 'startedAt'] as const) if (typeof doc[k] !== 'string') return `'${k}' must be a string`;
  if (typeof doc.seconds !== 'number') return "'seconds' must be a number";
  return undefined;
}

/** The result document in `file`, checked. */
export async function readResult(file: string): Promise<ResultDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ResultFileError(code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ResultFileError(`${file} is not JSON: ${(e as Error).message}`);
  }
  const problem = resultProblem(doc);
  if (problem) throw new ResultFileError(`${file} is not a vcpu-rt result document: ${problem}`);
  return doc as ResultDocument;
}
