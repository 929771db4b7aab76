/**
 * `vcpu-rt bench pci-hole`: the pci-scan guest boots a q35-like machine under each PCI-hole strategy
 * of seeds 000/001/003, in one process run. Published: 8193 hole accesses, ~1 µs each handled in the
 * kernel against ~6 µs in userspace (seed 000), 32 MiB for 8192 READONLY pages (seed 000).
 */
import { KVM_EXIT_IO, KVM_EXIT_MMIO } from '@vcpu-rt/core';
import { createVcpu, Q35Machine, type PciHoleStrategy } from '@vcpu-rt/vcpu';
import { since, summarize } from './stats.js';

/** Where the VMM answers the exits that reach userspace. */
export type VmmPlacement = 'vcpu-thread' | 'main-thread';

/** One row of the report (API.md). */
export interface PciHoleResult {
  strategy: PciHoleStrategy;
  vmm: VmmPlacement;
  /** Config-space accesses of one scan. */
  accesses: number;
  /** Of those, reads of absent functions. */
  holeAccesses: number;
  /** MMIO exits to userspace in one scan. */
  exits: number;
  /** Median seconds of one scan after the first. */
  seconds: number;
  /** Median seconds of a scan over its config accesses (all but 18 of them are hole accesses). */
  secondsPerAccess: number;
  /** The first scan: JIT still cold, and every page touched for the first time (the boot). */
  firstScanSeconds: number;
  min: number;
  max: number;
  repeats: number;
  /** Host memory the strategy allocated (populated VMM pages + kernel pages). */
  hostBytes: number;
  slots: number;
  /** Unsupported requests the root port recorded (stray writes that reached userspace). */
  aerUnsupportedRequests: number;
}

/** What to run. */
export interface PciHoleBenchOptions {
  strategies: readonly PciHoleStrategy[];
  vmm: readonly VmmPlacement[];
  repeats: number;
  strayWrites: number;
  progress?: (line: string) => void;
}

/**
 * Boots one machine with one vCPU that scans `repeats + 1` times: the first scan (cold JIT, pages
 * never touched) is reported apart, the others give the steady-state median.
 */
async function scanMachine(strategy: PciHoleStrategy, vmm: VmmPlacement, repeats: number, strayWrites: number): Promise<PciHoleResult> {
  const m = Q35Machine.create({ strategy });
  const v = await createVcpu(m.vm, 0, { guest: 'pci-scan', args: m.scanArgs(strayWrites, repeats + 1) },
    vmm === 'vcpu-thread' ? { vmm: m.vmmHandlers() } : {});
  const samples: number[] = [];
  let values: number[] = [];
  let firstScanSeconds = 0;
  let exits = 0;
  try {
    let before = v.stats().mmioExits;
    for (let round = 0; round <= repeats; round++) {
      const t0 = performance.now();
      for (;;) {
        const e = await v.run();
        if (e.reason === KVM_EXIT_IO) {
          values = e.ucall.values.map(Number);
          break;
        }
        if (e.reason !== KVM_EXIT_MMIO || !m.pci.claims(e.mmio.physAddr)) throw new Error(`pci-scan: unexpected exit ${e.reason}`);
        // The VMM on the main thread: the same host bridge, reached through KVM_RUN.
        m.pci.access(e.mmio);
      }
      const s = since(t0);
      if (round === 0) firstScanSeconds = s;
      else samples.push(s);
      const now = v.stats().mmioExits;
      exits = now - before;
      before = now;
    }
  } finally {
    await v.destroy();
  }
  const s = summarize(samples);
  const [holes, , accesses] = values;
  const result: PciHoleResult = {
    strategy, vmm, accesses, holeAccesses: holes, exits, seconds: s.median, secondsPerAccess: s.median / accesses,
    firstScanSeconds, min: s.min, max: s.max, repeats: s.repeats, hostBytes: m.hostBytes(), slots: m.slots,
    aerUnsupportedRequests: m.pci.aerUnsupportedRequests(),
  };
  await m.vm.close();
  return result;
}

/** Runs every strategy (and VMM placement) in this one process. */
export async function benchPciHole(o: PciHoleBenchOptions): Promise<PciHoleResult[]> {
  const out: PciHoleResult[] = [];
  for (const strategy of o.strategies) {
    for (const vmm of o.vmm) {
      out.push(await scanMachine(strategy, vmm, o.repeats, o.strayWrites));
      o.progress?.(`${strategy} (VMM on the ${vmm}): ${out[out.length - 1].seconds.toFixed(4)}s per scan`);
    }
  }
  return out;
}

