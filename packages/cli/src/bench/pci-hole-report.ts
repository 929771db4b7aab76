/** The people's table of `vcpu-rt bench pci-hole`: ours beside seed 000's figures. */
import Table from 'cli-table3';
import { VMM_PLACEMENTS, type PciHoleResult, type VmmPlacement } from './pci-hole.js';
import type { MachineInfo } from './stats.js';

const MIB = 1 << 20;

/** Where PCI_HOLE_PUBLISHED comes from, for reports and the JSON output. */
export const PCI_HOLE_PUBLISHED_SOURCE = 'seed 000, Vitaly Kuznetsov, "[PATCH v2 0/3] KVM: x86: KVM_MEM_PCI_HOLE memory" (kvm@vger): ' +
  'Linux direct-kernel boot in a QEMU q35 VM; seconds per hole access handled in KVM and in userspace; READONLY memory for 8192 absent pages';

/** Seed 000's published figures. */
export const PCI_HOLE_PUBLISHED = {
  holeAccesses: 8193,
  kernelSecondsPerAccess: 0.000001,
  userspaceSecondsPerAccess: 0.000006,
  readonlyBytes: 32 * MIB,
  readonlyPages: 8192,
};

/**
 * Renders the results with the published figures and the ratios the seed argues from; within 120
 * columns, or with `wide` the first scan and the spread [min, max] as well.
 */
export function pciHoleTable(results: PciHoleResult[], machine: MachineInfo, options: { wide?: boolean } = {}): string {
  const wide = options.wide === true;
  const t = new Table({
    head: wide
      ? ['strategy', 'VMM in', 'hole accesses', 'exits/scan', 'µs/access', 'first scan ms', 'scan ms [min, max]', 'hostBytes', 'slots', 'AER UR']
      : ['strategy', 'VMM in', 'holes', 'exits', 'µs/access', 'scan ms', 'hostBytes', 'slots', 'AER UR'],
    style: { head: [], border: [] },
  });
  for (const r of results) {
    const bytes = r.hostBytes >= MIB ? `${(r.hostBytes / MIB).toFixed(1)} MiB` : `${r.hostBytes} B`;
    if (wide) {
      t.push([r.strategy, r.vmm, r.holeAccesses, r.exits, (r.secondsPerAccess * 1e6).toFixed(3), (r.firstScanSeconds * 1e3).toFixed(2),
        `${(r.seconds * 1e3).toFixed(2)} [${(r.min * 1e3).toFixed(2)}, ${(r.max * 1e3).toFixed(2)}]`, bytes, r.slots, r.aerUnsupportedRequests]);
    } else {
      t.push([r.strategy, r.vmm, r.holeAccesses, r.exits, (r.secondsPerAccess * 1e6).toFixed(3), (r.seconds * 1e3).toFixed(2), bytes, r.slots, r.aerUnsupportedRequests]);
    }
  }
  const p = PCI_HOLE_PUBLISHED;
  const per = (s: string, vmm: string) => results.find((r) => r.strategy === s && r.vmm === vmm)?.secondsPerAccess;
  const lines = [
    `machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}; q35-like topology, Linux probe order`,
    `µs/access and scan ms are steady-state medians (after the first scan)${wide ? '' : '; --wide: the first scan and [min, max] too'}`,
    t.toString(),
    '',
    `published (seed 000): ${p.holeAccesses} hole accesses in a q35 direct-kernel boot; ~${p.kernelSecondsPerAccess * 1e6} µs per access handled in the kernel`,
    `  against ~${p.userspaceSecondsPerAccess * 1e6} µs in userspace (6x); KVM_MEM_READONLY costs ${p.readonlyBytes / MIB} MiB for ${p.readonlyPages} pages`,
  ];
  const placements: Record<VmmPlacement, string> = {
    'vcpu-thread': 'VMM in the vCPU thread (no handoff)',
    'main-thread': 'VMM on the main thread, KVM_RUN handoff polling',
    'main-thread-nopoll': 'VMM on the main thread, handoff sleeping on the futex',
  };
  lines.push('ours: mmio-exit / pci-hole per access, the time an exit to userspace adds per access, and what pci-hole saves',
    `  per boot of ${p.holeAccesses} hole accesses (seed: +${((p.userspaceSecondsPerAccess - p.kernelSecondsPerAccess) * 1e6).toFixed(0)} µs, ${(p.holeAccesses * (p.userspaceSecondsPerAccess - p.kernelSecondsPerAccess) * 1e3).toFixed(0)} ms)`);
  for (const vmm of VMM_PLACEMENTS) {
    const exit = per('mmio-exit', vmm);
    const hole = per('pci-hole', vmm);
    const row = results.find((r) => r.strategy === 'mmio-exit' && r.vmm === vmm);
    if (!exit || !hole || !row) continue;
    const label = placements[vmm] + (row.runPollNs > 0 ? ` (runPollNs ${row.runPollNs})` : '');
    lines.push(`  ${label}: ${(exit * 1e6).toFixed(3)} / ${(hole * 1e6).toFixed(3)} µs = ${(exit / hole).toFixed(1)}x; +${((exit - hole) * 1e6).toFixed(3)} µs; ${(p.holeAccesses * (exit - hole) * 1e3).toFixed(1)} ms`);
    if (row.runPollNs > 0) {
      const { vcpu, vmm: v } = row.poll;
      lines.push(`    mmio-exit handoffs caught while polling: vCPU thread ${vcpu.successfulPolls} (missed ${vcpu.failedPolls}), VMM ${v.successfulPolls} (missed ${v.failedPolls})`);
    }
  }
  lines.push('  (an exit here crosses no user/kernel boundary: it costs a function call in the vCPU thread, or a thread handoff;', '  docs/pci-hole.md)');
  return lines.join('\n');
}
