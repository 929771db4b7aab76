/** `kind: model` steps: a sweep of the discrete-event model (`vcpu-rt model demand-paging`). */
import * as z from 'zod';
import { MODEL_BOUNDS } from './bounds.js';
import { intIn, title } from './common.js';
import { pagingFields } from './paging.js';

/** A model sweep: the paging fields (vCPUs up to 512) plus the simulated machine and its costs. */
export const modelStep = z.strictObject({
  kind: z.literal('model'),
  title,
  ...pagingFields('model'),
  cpus: intIn(MODEL_BOUNDS.cpus.min, MODEL_BOUNDS.cpus.max).default(MODEL_BOUNDS.cpus.default),
  /** `published`, `measured`, or a JSON cost profile (a path relative to the scenario file). */
  costs: z.string({ error: "must be 'published', 'measured' or the path of a JSON cost profile" })
    .min(1, { error: "must be 'published', 'measured' or the path of a JSON cost profile" }).default('published'),
  simPages: intIn(MODEL_BOUNDS.simPages.min, MODEL_BOUNDS.simPages.max).default(MODEL_BOUNDS.simPages.default),
});
