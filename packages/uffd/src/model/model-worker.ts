/** A worker of the model's piscina pool: simulates one point of a sweep. */
import { modelDemandPaging, type ModelResult } from './model.js';
import type { SweepPoint } from './sweep.js';

/** Runs one point. */
export default function run(point: SweepPoint): ModelResult {
  return modelDemandPaging(point);
}
