/**
 * `vcpu-rt bench pci-hole`: the pci-scan guest boots a q35-like machine under each PCI-hole strategy
 * of seeds 000/001/003, in one process run. Published: 8193 hole accesses, ~1 µs each handled in the
 * kernel against ~6 µs in userspace (seed 000), 32 MiB for 8192 READONLY pages (seed 000).
 */
import { KVM_EXIT_IO, KVM_EXIT_MMIO } from '@vcpu-rt/core';
import { createVcpu, HANDOFF_POLL_NS_DEFAULT, Q35Machine, type HandoffPollStats, type PciHoleStrategy, type Vcpu } from '@vcpu-rt/vcpu';
import { since, summarize } from './stats.js';

/**
 * Where the VMM answers the exits that reach userspace: in the vCPU's own thread (QEMU's and
 * Firecracker's vCPU loop), or on the main thread through Vcpu.run() with the KVM_RUN handoff
 * polling (`main-thread`) or always sleeping on the futex (`main-thread-nopoll`).
 */
export type VmmPlacement = 'vcpu-thread' | 'main-thread' | 'main-thread-nopoll';
/** Every placement, in report order. */
export const VMM_PLACEMENTS: readonly VmmPlacement[] = ['vcpu-thread', 'main-thread', 'main-thread-nopoll'];

/** One row of the report (docs/api.md). */
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
  /** The vCPU's runPollNs (largest KVM_RUN handoff poll window); 0 for the vCPU-thread VMM, which has no handoff. */
  runPollNs: number;
  /** What the handoff's polling did on each side, over all scans. */
  poll: { vcpu: HandoffPollStats; vmm: HandoffPollStats };
}

/** What to run. */
export interface PciHoleBenchOptions {
  strategies: readonly PciHoleStrategy[];
  vmm: readonly VmmPlacement[];
  repeats: number;
  strayWrites: number;
  /** runPollNs of the `main-thread` placement (default: KVM's halt_poll_ns, 200 000). */
  runPollNs?: number;
  /** Called after each round of scans (every strategy once): `done` rounds of `total`. */
  progress?: (line: string, done: number, total: number) => void;
}

/** One booted machine with its scanning vCPU, driven one scan at a time. */
class ScanSession {
  private exitsBefore = 0;
  firstScanSeconds = 0;
  readonly samples: number[] = [];
  values: number[] = [];
  exits = 0;

  private constructor(readonly strategy: PciHoleStrategy, readonly vmm: VmmPlacement, readonly runPollNs: number,
    readonly machine: Q35Machine, readonly vcpu: Vcpu) {}

  /** Boots the machine: a vCPU whose pci-scan guest scans `rounds` times. */
  static async boot(strategy: PciHoleStrategy, vmm: VmmPlacement, rounds: number, strayWrites: number, pollNs: number): Promise<ScanSession> {
    const m = Q35Machine.create({ strategy });
    const runPollNs = vmm === 'main-thread' ? pollNs : 0;
    try {
      const v = await createVcpu(m.vm, 0, { guest: 'pci-scan', args: m.scanArgs(strayWrites, rounds) },
        vmm === 'vcpu-thread' ? { vmm: m.vmmHandlers(), runPollNs } : { runPollNs });
      return new ScanSession(strategy, vmm, runPollNs, m, v);
    } catch (e) {
      await m.vm.close();
      throw e;
    }
  }

  /** Runs one scan to its ucall; the VMM on the main thread answers the exits that reach it. */
  async scan(): Promise<number> {
    const { vcpu: v, machine: m } = this;
    const t0 = performance.now();
    for (;;) {
      const e = await v.run();
      if (e.reason === KVM_EXIT_IO) {
        this.values = e.ucall.values.map(Number);
        break;
      }
      if (e.reason !== KVM_EXIT_MMIO || !m.pci.claims(e.mmio.physAddr)) throw new Error(`pci-scan: unexpected exit ${e.reason}`);
      // The VMM on the main thread: the same host bridge, reached through KVM_RUN.
      m.pci.access(e.mmio);
    }
    const s = since(t0);
    const now = v.stats().mmioExits;
    this.exits = now - this.exitsBefore;
    this.exitsBefore = now;
    return s;
  }

  /** The row of this machine; ends it. */
  async finish(): Promise<PciHoleResult> {
    const poll = this.vcpu.pollStats();
    await this.vcpu.destroy();
    const m = this.machine;
    const s = summarize(this.samples);
    const [holes, , accesses] = this.values;
    const result: PciHoleResult = {
      strategy: this.strategy, vmm: this.vmm, accesses, holeAccesses: holes, exits: this.exits, seconds: s.median,
      secondsPerAccess: s.median / accesses, firstScanSeconds: this.firstScanSeconds, min: s.min, max: s.max,
      repeats: s.repeats, hostBytes: m.hostBytes(), slots: m.slots, aerUnsupportedRequests: m.pci.aerUnsupportedRequests(),
      runPollNs: this.runPollNs, poll,
    };
    await m.vm.close();
    return result;
  }
}

/**
 * Runs every strategy (and VMM placement) in this one process. Per placement, one machine per
 * strategy is booted and scanned once (cold JIT, pages never touched: reported apart); then the
 * steady-state scans go round the strategies in turn, so that a slow spell of the machine hits
 * every strategy alike and the ratios stay fair.
 */
export async function benchPciHole(o: PciHoleBenchOptions): Promise<PciHoleResult[]> {
  const out: PciHoleResult[] = [];
  const pollNs = o.runPollNs ?? HANDOFF_POLL_NS_DEFAULT;
  const total = o.vmm.length * (o.repeats + 1);
  let done = 0;
  for (const vmm of o.vmm) {
    const sessions: ScanSession[] = [];
    try {
      for (const strategy of o.strategies) {
        const session = await ScanSession.boot(strategy, vmm, o.repeats + 1, o.strayWrites, pollNs);
        sessions.push(session);
        session.firstScanSeconds = await session.scan();
      }
      o.progress?.(`VMM in ${vmm}: booted, first scans ${sessions.map((x) => `${x.strategy} ${(x.firstScanSeconds * 1e3).toFixed(1)}`).join(', ')} ms`, ++done, total);
      for (let round = 0; round < o.repeats; round++) {
        for (const session of sessions) session.samples.push(await session.scan());
        o.progress?.(`VMM in ${vmm}: round ${round + 1}/${o.repeats}`, ++done, total);
      }
      const rows: PciHoleResult[] = [];
      while (sessions.length) {
        rows.push(await sessions[0].finish());
        sessions.shift();
      }
      out.push(...rows);
      o.progress?.(`VMM in ${vmm}: ms per scan ${rows.map((r) => `${r.strategy} ${(r.seconds * 1e3).toFixed(2)}`).join(', ')}`, done, total);
    } finally {
      // After a failure: end what is still running (destroy and close are idempotent).
      for (const session of sessions) {
        await session.vcpu.destroy();
        await session.machine.vm.close();
      }
    }
  }
  // Report order: by strategy, then placement.
  return o.strategies.flatMap((s) => out.filter((r) => r.strategy === s));
}
