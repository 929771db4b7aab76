/**
 * `bench pci-hole` in a report: the cost of a boot scan per strategy and VMM placement beside seed
 * 000's per-access figures, host memory per strategy beside its 32 MiB, and the tables.
 */
import { hostBytesSpec, scanCostSpec, type ScanPoint } from '../charts/pci-hole.js';
import { bytes, signed, times } from '../format.js';
import { htmlTable } from '../html.js';
import { figure, type SectionContext, type SectionView } from '../view.js';
import { isObject, num, rowsOf, ShapeError } from './shape.js';

interface Row { strategy: string; vmm: string; holeAccesses: number; exits: number; seconds: number; min: number; max: number; perAccess: number; hostBytes: number; slots: number; aer: number; runPollNs: number }

function readRow(r: Record<string, unknown>): Row {
  const seconds = num(r.seconds);
  if (typeof r.strategy !== 'string' || typeof r.vmm !== 'string' || seconds === undefined) throw new ShapeError("each result needs 'strategy', 'vmm' and 'seconds'");
  return {
    strategy: r.strategy, vmm: r.vmm, seconds, min: num(r.min) ?? seconds, max: num(r.max) ?? seconds, holeAccesses: num(r.holeAccesses) ?? 0, exits: num(r.exits) ?? 0,
    perAccess: num(r.secondsPerAccess) ?? 0, hostBytes: num(r.hostBytes) ?? 0, slots: num(r.slots) ?? 0, aer: num(r.aerUnsupportedRequests) ?? 0, runPollNs: num(r.runPollNs) ?? 0,
  };
}

const PLACEMENT_TEXT: Record<string, string> = {
  'vcpu-thread': 'in the vCPU thread', 'main-thread': 'main thread, handoff polling', 'main-thread-nopoll': 'main thread, handoff sleeping',
};

/** Seed 000's figures as the section carries them. */
interface Published { source: string; holeAccesses: number; kernel: number; userspace: number; readonlyBytes: number; readonlyPages: number }

function readPublished(data: unknown): Published | undefined {
  const p = isObject(data) && isObject(data.published) ? data.published : undefined;
  const [h, k, u] = [num(p?.holeAccesses), num(p?.kernelSecondsPerAccess), num(p?.userspaceSecondsPerAccess)];
  if (!p || h === undefined || k === undefined || u === undefined) return undefined;
  return { source: typeof p.source === 'string' ? p.source : 'seed 000', holeAccesses: h, kernel: k, userspace: u, readonlyBytes: num(p.readonlyBytes) ?? 0, readonlyPages: num(p.readonlyPages) ?? 0 };
}

/** The section. */
export async function pciHoleSection(data: unknown, ctx: SectionContext): Promise<SectionView> {
  const rows = [...rowsOf(data, 'results'), ...(isObject(data) && Array.isArray(data.otherPlacements) ? rowsOf(data, 'otherPlacements') : [])].map(readRow);
  const pub = readPublished(data);
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  const placements = [...new Set(rows.map((r) => r.vmm))];
  const points: ScanPoint[] = rows.map((r) => ({ strategy: r.strategy, vmm: r.vmm, ms: r.seconds * 1e3, lo: r.min * 1e3, hi: r.max * 1e3 }));
  const refs = pub ? [
    { value: pub.holeAccesses * pub.kernel * 1e3, label: `seed 000: in the kernel, ~${pub.kernel * 1e6} µs × ${pub.holeAccesses}` },
    { value: pub.holeAccesses * pub.userspace * 1e3, label: `seed 000: exit to userspace, ~${pub.userspace * 1e6} µs × ${pub.holeAccesses}` },
  ] : [];
  const repeats = isObject(data) ? rowsOf(data, 'results').map((r) => num(r.repeats) ?? 0)[0] : 0;
  const figs = [await figure('pci-hole', scanCostSpec(points, strategies, placements, refs, `median of ${repeats} scans after the first, bar = [min, max]; dashed: seed 000's per-access costs × its ${pub?.holeAccesses ?? 8193} hole accesses`), ctx)];
  const first = rows.filter((r) => r.vmm === placements[0]);
  figs.push(await figure('host-bytes', hostBytesSpec(first.map((r) => ({ strategy: r.strategy, mib: r.hostBytes / (1 << 20), label: bytes(r.hostBytes) })),
    { value: (pub?.readonlyBytes ?? 32 << 20) / (1 << 20), label: `seed 000: READONLY 0xff pages, ${bytes(pub?.readonlyBytes ?? 32 << 20)}` }), ctx));
  const main = htmlTable([
    { head: 'strategy', text: true }, { head: 'VMM', text: true }, { head: 'hole accesses' }, { head: 'exits/scan' }, { head: 'µs/access' },
    { head: 'scan ms [min, max]' }, { head: 'host memory' }, { head: 'slots' }, { head: 'AER UR' },
  ], rows.map((r) => [r.strategy, PLACEMENT_TEXT[r.vmm] ?? r.vmm, r.holeAccesses, r.exits, (r.perAccess * 1e6).toFixed(3),
    `${(r.seconds * 1e3).toFixed(2)} [${(r.min * 1e3).toFixed(2)}, ${(r.max * 1e3).toFixed(2)}]`, bytes(r.hostBytes), r.slots, r.aer]));
  const per = (s: string, vmm: string) => rows.find((r) => r.strategy === s && r.vmm === vmm)?.perAccess;
  const ratioRows = placements.flatMap((vmm) => {
    const [e, h] = [per('mmio-exit', vmm), per('pci-hole', vmm)];
    return e && h ? [[PLACEMENT_TEXT[vmm] ?? vmm, (e * 1e6).toFixed(3), (h * 1e6).toFixed(3), times(e / h), signed((e - h) * 1e6, 3),
      pub ? `${(pub.userspace * 1e6).toFixed(0)} / ${(pub.kernel * 1e6).toFixed(0)}` : null, pub ? times(pub.userspace / pub.kernel) : null, pub ? signed((pub.userspace - pub.kernel) * 1e6, 0) : null]] : [];
  });
  const tables = [main];
  if (ratioRows.length) {
    tables.push(htmlTable([
      { head: 'VMM', text: true }, { head: 'mmio-exit µs/access' }, { head: 'pci-hole µs/access' }, { head: 'ratio' }, { head: 'an exit adds µs' },
      { head: 'seed 000: µs/access', published: true }, { head: 'seed 000: ratio', published: true }, { head: 'seed 000: adds µs', published: true },
    ], ratioRows, 'what an exit to userspace costs: ours per placement beside seed 000'));
  }
  const notes = pub ? [`Published (${pub.source}): ${pub.holeAccesses} hole accesses; ~${pub.kernel * 1e6} µs per access in the kernel against ~${pub.userspace * 1e6} µs through userspace; KVM_MEM_READONLY costs ${bytes(pub.readonlyBytes)} for ${pub.readonlyPages} pages.`,
    'An exit here crosses no user/kernel boundary: it costs a function call in the vCPU thread, or a thread handoff (docs/pci-hole.md).'] : [];
  return { figures: figs, tables, notes };
}
