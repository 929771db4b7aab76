/**
 * The scenario file's schema: `name`, `description`, and `steps` run in order, each told apart by
 * its `kind` (bench, model, postcopy, vm). Every object is strict: an unknown key is an error.
 */
import * as z from 'zod';
import { benchStep } from './bench.js';
import { modelStep } from './model.js';
import { postcopyStep } from './postcopy.js';
import { vmStep } from './vm.js';

/** Any step. */
export const step = z.discriminatedUnion('kind', [benchStep, modelStep, postcopyStep, vmStep]);

/** A whole scenario file. */
export const scenarioSchema = z.strictObject({
  /** Names the run: results, report titles. */
  name: z.string({ error: 'must be a name (letters, digits, -, _ and .)' })
    .regex(/^[A-Za-z0-9][\w.-]*$/, { error: 'must be a name (letters, digits, -, _ and .)' }).describe('Names the run: results and report titles.'),
  /** What the scenario shows and which seed or paper it comes from. */
  description: z.string({ error: 'must be a text saying what the scenario shows and where it comes from' })
    .min(1, { error: 'must be a text saying what the scenario shows and where it comes from' }).describe('What the scenario shows and which seed or paper it comes from.'),
  steps: z.array(step, { error: 'must be a list of steps' }).min(1, { error: 'must list at least one step' })
    .describe('Run in order; each is told apart by `kind`: bench, model, postcopy or vm (docs/scenarios.md).'),
});

/** A validated scenario, defaults filled in and sizes in bytes. */
export type Scenario = z.output<typeof scenarioSchema>;
/** One validated step. */
export type Step = Scenario['steps'][number];

/** The JSON Schema of scenario files (what they may contain, before defaults), for editors. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://vcpu-rt.invalid/scenario.schema.json',
    title: 'vcpu-rt scenario',
    description: 'A vcpu-rt scenario file (docs/scenarios.md): steps run in order by `vcpu-rt run`.',
  };
}
