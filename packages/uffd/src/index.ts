/** @vcpu-rt/uffd: postcopy — the migration source, userfaultfd readers, the memory-fault-exit path, demand_paging_test. */
export {
  demandPaging, GUEST_BASE_GPA, MAX_WARMUP_ROUNDS, MIN_WARMUP_ROUNDS, warmedUp, WARM_BYTES_PER_PAGE,
  type DemandPagingResult, type DemandPagingRun, type DemandPagingHooks,
} from './demand-paging.js';
export { demandPagingOptions, DEMAND_PAGING_DEFAULTS, MAX_REAL_VCPUS, MAX_GUEST_BYTES, MAX_READER_THREADS, type DemandPagingOptions } from './options.js';
export { blocktime, latency, latencyBucket, LATENCY_BUCKETS } from './metrics.js';
export { MigrationSource } from './source/migration-source.js';
export { PageServer, holdUs, pageServerStats, type PageServerHandle } from './source/page-server.js';
export { patternWord, fillPages, pageMismatches } from './source/pattern.js';
export { serveFault } from './handler/fault-handler.js';
export { resolvePage } from './handler/resolve.js';
export { postcopyExitHandler } from './handler/exit-handler.js';
export type { PostcopyLayout } from './layout.js';
export type { DemandPagingGuestArgs } from './guest/demand-paging-guest.js';
export { modelDemandPaging, modelWakeup, type ModelOptions, type ModelResult } from './model/model.js';
export { PUBLISHED_COSTS, PUBLISHED_PRIORS, PUBLISHED_FIT, COST_FIELDS, checkCostProfile, type CostProfile } from './model/costs.js';
export { Topology, PLACEMENTS, type Placement, type TopologySpec, type LineCosts, type Level } from './model/topology.js';
export { TABLE_A_ROWS, tableAPoint, tableASimPages, type TableARow } from './model/table-a.js';
export { fitTableA, EXIT_GRID, SEARCH, type TableAFit } from './model/fit-table-a.js';
export { modelConfigurations, CONFIGURATIONS, FETCH_LATENCIES_US, type Configuration, type ConfigurationRow, type ConfigurationsResult } from './model/configurations.js';
export { Sim, type SimThread, type Step } from './model/sim.js';
export { SimLock, type SimLockStats, type HandoffCost } from './model/lock.js';
export { baseSliceUs, Processors, WAKE_PLACEMENTS, type WakePlacement } from './model/processors.js';
export { modelSweep, ModelPool, type SweepPoint } from './model/sweep.js';
export { calibrateCosts, type CalibrateOptions } from './model/calibrate/index.js';
