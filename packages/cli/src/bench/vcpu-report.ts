/** The people's table of `vcpu-rt bench vcpu`. */
import Table from 'cli-table3';
import type { MachineInfo } from './stats.js';
import type { VcpuBenchResult } from './vcpu.js';

/** Renders hit-path rates with the 2-vCPU scaling. */
export function vcpuTable(results: VcpuBenchResult[], machine: MachineInfo): string {
  const t = new Table({ head: ['test', 'access', 'vCPUs', 'M accesses/s [min, max]', 'vs 1 vCPU'], style: { head: [], border: [] } });
  for (const r of results) {
    const one = results.find((x) => x.access === r.access && x.vcpus === 1)!;
    t.push([r.test, r.access, r.vcpus, `${(r.accessesPerSecond / 1e6).toFixed(1)} [${(r.min / 1e6).toFixed(1)}, ${(r.max / 1e6).toFixed(1)}]`,
      `${(r.accessesPerSecond / one.accessesPerSecond).toFixed(2)}x`]);
  }
  return [`machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}; each vCPU reads/writes its own TLB-resident 1 MiB`, t.toString()].join('\n');
}
