/** `vcpu-rt run [scenario.yaml]` and `vcpu-rt schema`: scenario runs from the command line. */
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { writeResult } from '../report/write.js';
import type { ResultDocument } from '../result/document.js';
import { ScenarioError } from '../scenario/errors.js';
import { loadScenario } from '../scenario/load.js';
import { runScenario } from '../scenario/run/index.js';
import { sectionTable } from '../scenario/run/tables.js';
import { scenarioJsonSchema } from '../scenario/schema/index.js';

/**
 * The embedded default scenario: the repository's scenarios/postcopy-contention.yaml, found from
 * this module (dist/commands/run.js: four levels up is the repository root). It lives beside the
 * packages, not in the cli package, so that people find and copy it; a published package would
 * have to ship it in `files`.
 */
export const DEFAULT_SCENARIO = fileURLToPath(new URL('../../../../scenarios/postcopy-contention.yaml', import.meta.url));

/** What `run` prints for people: each section's title and table, then where the report went. */
export function peopleOutput(doc: ResultDocument): string {
  const lines = [`scenario ${doc.scenario?.name ?? ''}: ${doc.sections.length} section${doc.sections.length === 1 ? '' : 's'} in ${doc.seconds.toFixed(1)} s`];
  for (const s of doc.sections) lines.push('', `== ${s.title}`, sectionTable(s), ...(s.command ? ['to run this step alone:', ...shellLines(s.command, 120)] : []));
  return lines.join('\n');
}

/** A command line cut at spaces into lines of at most `width` characters, continued with a backslash. */
function shellLines(command: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of command.split(' ')) {
    if (line && line.length + 1 + word.length + 2 > width) {
      out.push(`${line} \\`);
      line = `    ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/** Prints a scenario failure without a stack: each located problem on its own line. */
function report(e: unknown): number {
  if (e instanceof ScenarioError) {
    const all = (e as ScenarioError & { all?: ScenarioError[] }).all ?? [e];
    for (const x of all) process.stderr.write(`${x.message}\n`);
    return 2;
  }
  process.stderr.write(`vcpu-rt run: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
}

/** Registers `run` and `schema` on the program. */
export function registerRunCommands(program: Command): void {
  program.command('run')
    .description('run a scenario file (default: the postcopy contention comparison of seed 002, about a minute)')
    .argument('[scenario]', 'a scenario YAML file (docs/scenarios.md)')
    .option('--out <dir>', 'write result.json and report.html into this directory')
    .option('--json', 'print the result document on stdout instead of the tables')
    .option('--set <path=value>', 'override a field before validation, the value in YAML (repeatable): --set steps[0].vcpus=[1,2]',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (file: string | undefined, o: { out?: string; json?: boolean; set: string[] }) => {
      try {
        const path = file ?? relative(process.cwd(), DEFAULT_SCENARIO);
        const loaded = await loadScenario(path, { overrides: o.set });
        const doc = await runScenario(loaded, { displayFile: file ?? `(embedded default) ${path}` });
        const written = o.out ? await writeResult(o.out, doc) : undefined;
        if (o.json) {
          process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
          if (written) process.stderr.write(`report: ${written.html}\n`);
        } else {
          process.stdout.write(`${peopleOutput(doc)}\n`);
          if (written) process.stdout.write(`\nreport: ${written.html}\nresult: ${written.json}\n`);
        }
      } catch (e) {
        process.exitCode = report(e);
      }
    });

  program.command('schema')
    .description('print the JSON Schema of scenario files, for editors')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}
