/** Running a loaded scenario: its steps in order, one result section each (a vm step: one per design). */
import { readFileSync } from 'node:fs';
import { machineInfo } from '../../bench/stats.js';
import { createProgress, type Progress } from '../../progress.js';
import { RESULT_FORMAT, type ResultDocument, type ResultSection } from '../../result/document.js';
import type { LoadedScenario } from '../load.js';
import type { Step } from '../schema/index.js';
import { runVmStep } from '../vm/run.js';
import { runBenchStep } from './bench.js';
import { engineRule, type StepContext } from './context.js';
import { ScenarioError } from '../errors.js';
import { runModelStep } from './model.js';
import { postcopyRun, runPaging } from './paging.js';

/** How to run. */
export interface RunOptions {
  /** Where progress goes (default: a bar on a TTY, lines otherwise, on stderr). */
  progress?: Progress;
  /** How the result names the file: `(embedded default)` for the built-in scenario. */
  displayFile?: string;
  /** Called with each section as it is done. */
  onSection?: (section: ResultSection) => void;
}

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** A short name of a step, for progress lines. */
function stepLabel(step: Step): string {
  if (step.kind === 'bench') return `bench ${step.bench}`;
  if (step.kind === 'postcopy') return `postcopy, ${step.vcpus.join(',')} vCPUs`;
  if (step.kind === 'model') return `model, ${step.vcpus.join(',')} vCPUs`;
  return step.title ?? 'vm';
}

async function runStep(ctx: StepContext, step: Step): Promise<ResultSection[]> {
  switch (step.kind) {
    case 'bench':
      return [await runBenchStep(ctx, step)];
    case 'postcopy':
      return [await runPaging(ctx, postcopyRun(step))];
    case 'model':
      return [await runModelStep(ctx, step)];
    case 'vm': {
      const designs = typeof step.design === 'string' ? [step.design] : step.design;
      const out: ResultSection[] = [];
      for (const design of designs as ('tree' | 'array')[]) {
        out.push(await runVmStep(ctx, step, design, `${step.title ?? 'vm'}${designs.length > 1 || step.title === undefined ? ` (${design} memslots)` : ''}`));
      }
      return out;
    }
  }
}

/** Runs every step and returns the result document. */
export async function runScenario(loaded: LoadedScenario, options: RunOptions = {}): Promise<ResultDocument> {
  const { scenario } = loaded;
  const progress = options.progress ?? createProgress({ label: scenario.name });
  const machine = machineInfo();
  const startedAt = new Date();
  const t0 = performance.now();
  const sections: ResultSection[] = [];
  try {
    for (const [index, step] of scenario.steps.entries()) {
      progress.note(`${scenario.name}: step ${index + 1} of ${scenario.steps.length}: ${stepLabel(step)}`);
      let done: ResultSection[];
      try {
        done = await runStep({ loaded, index, progress, machine }, step);
      } catch (e) {
        // Whatever a step's engine throws is reported at the step, like the errors located deeper.
        if (e instanceof ScenarioError) throw e;
        throw loaded.error(['steps', index], engineRule(e));
      }
      for (const s of done) {
        sections.push(s);
        options.onSection?.(s);
      }
    }
  } finally {
    progress.stop();
  }
  return {
    format: RESULT_FORMAT, version, startedAt: startedAt.toISOString(), seconds: (performance.now() - t0) / 1000, machine,
    // The overrides go with the text, as comments, so that the report says what was run.
    scenario: {
      name: scenario.name, file: options.displayFile ?? loaded.file, description: scenario.description,
      text: loaded.text + loaded.overrides.map((o) => `# --set ${o.text}\n`).join(''),
    },
    sections,
  };
}
