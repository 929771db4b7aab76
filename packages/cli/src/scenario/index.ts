/** Scenario files: the schema, loading with located errors, and running them. */
export { ScenarioError, type ErrorSource } from './errors.js';
export { loadScenario, ScenarioErrors, type LoadedScenario, type LoadOptions } from './load.js';
export { runScenario, type RunOptions } from './run/index.js';
export { sectionTable } from './run/tables.js';
export { scenarioSchema, scenarioJsonSchema, step, type Scenario, type Step } from './schema/index.js';
export { MEASURES, type Measure } from './schema/vm.js';
export type { VmSectionData } from './vm/data.js';
export { vmTable } from './vm/table.js';
export { parseOverride, type Override } from './overrides.js';
