/** `bench vcpu` in a report: the hit path's rates and how they scale from one vCPU to two. Nothing is published for it. */
import { hitPathSpec, type HitPoint } from '../charts/vcpu.js';
import { htmlTable } from '../html.js';
import { figure, type SectionContext, type SectionView } from '../view.js';
import { num, rowsOf, ShapeError } from './shape.js';

/** The section. */
export async function vcpuSection(data: unknown, ctx: SectionContext): Promise<SectionView> {
  const rows: HitPoint[] = rowsOf(data, 'results').map((r) => {
    const [vcpus, rate] = [num(r.vcpus), num(r.accessesPerSecond)];
    if (typeof r.access !== 'string' || vcpus === undefined || rate === undefined) throw new ShapeError("each result needs 'access', 'vcpus' and 'accessesPerSecond'");
    return { access: r.access, vcpus, m: rate / 1e6, lo: (num(r.min) ?? rate) / 1e6, hi: (num(r.max) ?? rate) / 1e6 };
  });
  const repeats = num(rowsOf(data, 'results')[0]?.repeats) ?? 1;
  const one = (a: string) => rows.find((r) => r.access === a && r.vcpus === 1);
  const table = htmlTable([{ head: 'access', text: true }, { head: 'vCPUs' }, { head: 'M accesses/s [min, max]' }, { head: 'vs 1 vCPU' }],
    rows.map((r) => [r.access, r.vcpus, `${r.m.toFixed(1)} [${r.lo.toFixed(1)}, ${r.hi.toFixed(1)}]`, one(r.access) ? `${(r.m / one(r.access)!.m).toFixed(2)}x` : null]));
  return {
    figures: [await figure('vcpu', hitPathSpec(rows, `median of ${repeats} rounds, bar = [min, max]; each vCPU reads (read32) or writes (write64) its own 1 MiB`), ctx)],
    tables: [table],
    notes: ['No published figure: the seeds give none for the hit path.'],
  };
}
