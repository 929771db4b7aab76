/** Building the result document of a single bench or model command, for its `--out`. */
import { readFileSync } from 'node:fs';
import { machineInfo } from '../bench/stats.js';
import { RESULT_FORMAT, type ResultDocument, type ResultSection } from '../result/document.js';

/** vcpu-rt's version, from the cli package (the number `--version` prints). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A document holding `sections`, timed from `startedAt` (a Date taken when the work began). */
export function resultDocument(sections: ResultSection[], startedAt: Date): ResultDocument {
  return {
    format: RESULT_FORMAT, version: VERSION, startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000, machine: machineInfo(), sections,
  };
}
