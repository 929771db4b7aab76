/** A section as the table its bench or model command prints, for people reading a scenario run. */
import type { CostProfile, ModelResult } from '@vcpu-rt/uffd';
import type { DemandPagingRow } from '../../bench/demand-paging.js';
import { demandPagingTable } from '../../bench/demand-paging-report.js';
import type { MemslotResult } from '../../bench/memslots.js';
import { memslotTable } from '../../bench/memslots-report.js';
import { VMM_PLACEMENTS, type PciHoleResult } from '../../bench/pci-hole.js';
import { pciHoleTable } from '../../bench/pci-hole-report.js';
import type { MachineInfo } from '../../bench/stats.js';
import type { VcpuBenchResult } from '../../bench/vcpu.js';
import { vcpuTable } from '../../bench/vcpu-report.js';
import { modelTable } from '../../model/model-report.js';
import type { ResultSection } from '../../result/document.js';
import type { VmSectionData } from '../vm/data.js';
import { vmTable } from '../vm/table.js';

/** The table of `section`, or its JSON when its kind has no table. */
export function sectionTable(section: ResultSection): string {
  const d = section.data as Record<string, unknown> & { machine: MachineInfo };
  switch (section.kind) {
    case 'bench-memslots':
      return memslotTable(d.results as MemslotResult[], d.machine);
    case 'bench-pci-hole': {
      const rows = [...(d.results as PciHoleResult[]), ...((d.otherPlacements as PciHoleResult[] | undefined) ?? [])];
      const strategies = [...new Set(rows.map((r) => r.strategy))];
      // The bench's own order: by strategy, then placement.
      rows.sort((a, b) => strategies.indexOf(a.strategy) - strategies.indexOf(b.strategy) || VMM_PLACEMENTS.indexOf(a.vmm) - VMM_PLACEMENTS.indexOf(b.vmm));
      return pciHoleTable(rows, d.machine);
    }
    case 'bench-vcpu':
      return vcpuTable(d.results as VcpuBenchResult[], d.machine);
    case 'bench-demand-paging':
      return demandPagingTable(d.results as DemandPagingRow[], d.machine);
    case 'model-demand-paging':
      return modelTable(d.results as ModelResult[], d.costs as CostProfile, d.wallSeconds as number);
    case 'vm':
      return vmTable(section.data as VmSectionData);
    default:
      return JSON.stringify(section.data, null, 2);
  }
}
