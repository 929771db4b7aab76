/**
 * `model validate` in a report: real runs beside the model with this machine's measured costs.
 * Nothing is published for this machine, so the real runs are the reference the model is judged by.
 */
import { modelErrorSpec, type ErrorPoint } from '../charts/model-error.js';
import { pagingRateSpec, type RatePoint } from '../charts/paging-rate.js';
import { kpps, pct } from '../format.js';
import { htmlTable } from '../html.js';
import { figure, type SectionContext, type SectionView } from '../view.js';
import { isObject, num, rowsOf, ShapeError } from './shape.js';

interface Row { path: 'uffd' | 'exit'; vcpus: number; real: number; min: number; max: number; model: number; error: number }

function readRow(r: Record<string, unknown>): Row {
  const [vcpus, real, model] = [num(r.vcpus), num(r.real), num(r.model)];
  if ((r.path !== 'uffd' && r.path !== 'exit') || vcpus === undefined || real === undefined || model === undefined) throw new ShapeError("each row needs 'path', 'vcpus', 'real' and 'model'");
  return { path: r.path, vcpus, real, model, min: num(r.min) ?? real, max: num(r.max) ?? real, error: num(r.error) ?? model / real - 1 };
}

/** The section. */
export async function modelValidateSection(data: unknown, ctx: SectionContext): Promise<SectionView> {
  const rows = rowsOf(data, 'rows').map(readRow);
  const costs = isObject(data) && isObject(data.costs) && typeof data.costs.source === 'string' ? data.costs.source : undefined;
  const real = `real runs, ${ctx.machine.cpus}-cpu machine`;
  const model = `model, measured costs, ${ctx.machine.cpus} simulated CPUs`;
  const points: RatePoint[] = rows.flatMap((r) => [
    { vcpus: r.vcpus, path: r.path, source: real, k: r.real / 1000, lo: r.min / 1000, hi: r.max / 1000 },
    { vcpus: r.vcpus, path: r.path, source: model, k: r.model / 1000 },
  ]);
  const figures = [
    await figure('paging-rate', pagingRateSpec({
      heading: 'Real runs against the model on this machine',
      subtitle: ['real: median of the repeats, bar = [min, max]; model: the measured cost profile', 'no published figures: the real runs are the reference'],
      points, solid: real, dashed: [model],
    }), ctx),
    await figure('model-error', modelErrorSpec(rows.map((r): ErrorPoint => ({ vcpus: r.vcpus, path: r.path, error: r.error })), 'the real runs'), ctx),
  ];
  const table = htmlTable([{ head: 'path', text: true }, { head: 'vCPUs' }, { head: 'real K pages/s [min, max]' }, { head: 'model K pages/s' }, { head: 'error' }],
    rows.map((r) => [r.path, r.vcpus, `${kpps(r.real)} [${kpps(r.min)}, ${kpps(r.max)}]`, kpps(r.model), pct(r.error)]));
  const notes = ['No published figure exists for this machine: the real runs of this document are the reference the model is compared with.'];
  if (costs) notes.push(`Cost profile: ${costs}`);
  return { figures, tables: [table], notes };
}
