/** The people's table of `vcpu-rt bench pci-hole`: ours beside seed 000's figures. */
import Table from 'cli-table3';
import type { PciHoleResult } from './pci-hole.js';
import type { MachineInfo } from './stats.js';

const MIB = 1 << 20;

/** Seed 000's published figures. */
export const PCI_HOLE_PUBLISHED = {
  holeAccesses: 8193,
  kernelSecondsPerAccess: 0.000001,
  userspaceSecondsPerAccess: 0.000006,
  readonlyBytes: 32 * MIB,
  readonlyPages: 8192,
};

/** Renders the results with the published figures and the ratios the seed argues from. */
export function pciHoleTable(results: PciHoleResult[], machine: MachineInfo): string {
  const t = new Table({
    head: ['strategy', 'VMM in', 'hole accesses', 'exits/scan', 'µs/access', 'first scan ms', 'scan ms [min, max]', 'hostBytes', 'slots', 'AER UR'],
    style: { head: [], border: [] },
  });
  for (const r of results) {
    t.push([r.strategy, r.vmm, r.holeAccesses, r.exits, (r.secondsPerAccess * 1e6).toFixed(3), (r.firstScanSeconds * 1e3).toFixed(2),
      `${(r.seconds * 1e3).toFixed(2)} [${(r.min * 1e3).toFixed(2)}, ${(r.max * 1e3).toFixed(2)}]`,
      r.hostBytes >= MIB ? `${(r.hostBytes / MIB).toFixed(1)} MiB` : `${r.hostBytes} B`, r.slots, r.aerUnsupportedRequests]);
  }
  const p = PCI_HOLE_PUBLISHED;
  const per = (s: string, vmm: string) => results.find((r) => r.strategy === s && r.vmm === vmm)?.secondsPerAccess;
  const lines = [
    `machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}; q35-like topology, Linux probe order; µs/access and scan ms are steady-state medians (after the first scan)`,
    t.toString(),
    '',
    `published (seed 000): ${p.holeAccesses} hole accesses in a q35 direct-kernel boot; ~${p.kernelSecondsPerAccess * 1e6} µs per access handled in the kernel against ~${p.userspaceSecondsPerAccess * 1e6} µs in userspace (6x); KVM_MEM_READONLY costs ${p.readonlyBytes / MIB} MiB for ${p.readonlyPages} pages`,
  ];
  for (const vmm of ['vcpu-thread', 'main-thread']) {
    const exit = per('mmio-exit', vmm);
    const hole = per('pci-hole', vmm);
    if (exit && hole) lines.push(`ours, VMM in the ${vmm}: mmio-exit ${(exit * 1e6).toFixed(3)} µs / pci-hole ${(hole * 1e6).toFixed(3)} µs per access = ${(exit / hole).toFixed(1)}x`);
  }
  return lines.join('\n');
}
