/** @vcpu-rt/cli: the benchmarks behind `vcpu-rt`, for programs that run them directly. */
export { benchMemslots, prepareVm, DEFAULT_SLOTS, MEMSLOT_TESTS, type MemslotBenchOptions, type MemslotResult, type MemslotTest } from './bench/memslots.js';
export { memslotTable } from './bench/memslots-report.js';
export { PUBLISHED } from './bench/published.js';
export { machineInfo, summarize, type MachineInfo, type Summary } from './bench/stats.js';
export { benchPciHole, type PciHoleResult, type PciHoleBenchOptions, type VmmPlacement } from './bench/pci-hole.js';
export { pciHoleTable, PCI_HOLE_PUBLISHED } from './bench/pci-hole-report.js';
export { benchVcpu, hitPath, type VcpuBenchResult } from './bench/vcpu.js';
export { vcpuTable } from './bench/vcpu-report.js';
export { benchDemandPaging, PAGING_PATHS, type DemandPagingRow, type DemandPagingBenchOptions, type PagingPath } from './bench/demand-paging.js';
export { demandPagingTable } from './bench/demand-paging-report.js';
export { TABLE_A, TABLE_A_SOURCE, type PublishedPostcopyRow } from './bench/published-postcopy.js';
export { benchModel, type ModelBenchResult } from './bench/model.js';
export { modelTable, validateTable, type ValidateRow } from './model/model-report.js';
export { loadCosts, MEASURED_COSTS_FILE } from './model/costs.js';
