/** Which cost profile `--costs` names: published, measured, or a JSON file, checked field by field. */
import { existsSync, readFileSync } from 'node:fs';
import { checkCostProfile, PUBLISHED_COSTS, type CostProfile } from '@vcpu-rt/uffd';

/** Where `model calibrate` writes the measured profile by default, and `--costs measured` reads it. */
export const MEASURED_COSTS_FILE = 'vcpu-rt-measured-costs.json';

/** The profile `name` stands for; a missing or bad file is an Error naming the file and the field. */
export function loadCosts(name: string): CostProfile {
  if (name === 'published') return PUBLISHED_COSTS;
  const file = name === 'measured' ? MEASURED_COSTS_FILE : name;
  if (!existsSync(file)) {
    throw new Error(name === 'measured'
      ? `--costs measured: ${file} does not exist; run 'vcpu-rt model calibrate' first`
      : `--costs: ${file} does not exist (published | measured | a JSON file)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--costs: ${file} is not JSON: ${(e as Error).message}`);
  }
  return checkCostProfile(raw, file);
}
