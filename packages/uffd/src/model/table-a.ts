/**
 * Table A (reference §1.2, [K3]): the only data the published profile is fitted to, and the
 * configuration it was measured in. The CLI's reports print these rows (packages/cli/src/bench/published-postcopy.ts).
 */
import type { SweepPoint } from './sweep.js';
import type { CostProfile } from './costs.js';

/** One row: vCPUs and the overall rate of each path, K pages/s. */
export interface TableARow {
  vcpus: number;
  uffdK: number;
  exitK: number;
}

/** Table A: `demand_paging_test -b 64M -u MINOR -s shmem -a -v n -r n [-w]`, n = 5 runs each. */
export const TABLE_A_ROWS: readonly TableARow[] = [
  { vcpus: 1, uffdK: 150, exitK: 340 },
  { vcpus: 2, uffdK: 191, exitK: 477 },
  { vcpus: 4, uffdK: 210, exitK: 809 },
  { vcpus: 8, uffdK: 155, exitK: 1239 },
  { vcpus: 16, uffdK: 130, exitK: 1595 },
  { vcpus: 32, uffdK: 108, exitK: 2299 },
  { vcpus: 64, uffdK: 86, exitK: 3482 },
  { vcpus: 128, uffdK: 62, exitK: 4134 },
  { vcpus: 256, uffdK: 36, exitK: 4012 },
];

/**
 * Simulated pages per vCPU that bring the steady-state rate (ModelResult.model.steadyRate) within
 * about 1% of a 4096-page run's: 256, and 4 per vCPU on the uffd path, whose wait queues take a
 * few faults per vCPU to fill (docs/model.md §5).
 */
export function tableASimPages(vcpus: number, path: 'uffd' | 'exit'): number {
  return path === 'uffd' ? Math.max(256, 4 * vcpus) : 256;
}

/** Table A's configuration as model options: 256 CPUs, MINOR, one uffd, a reader per vCPU, 64 MiB per vCPU. */
export function tableAPoint(costs: CostProfile, vcpus: number, path: 'uffd' | 'exit', simPages = tableASimPages(vcpus, path)): SweepPoint {
  return {
    cpus: 256, costs, mode: 'minor', singleUffd: true, readers: 'per-vcpu', bytesPerVcpu: 64 << 20,
    vcpus, exits: path === 'exit', simPages,
  };
}
