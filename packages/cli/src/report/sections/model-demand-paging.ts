/**
 * `model demand-paging` in a report: the modelled rate against vCPUs beside table A, the error of
 * every point against table A, and the table. The model's rows are drawn solid (they are this
 * document's figures), table A dashed, as everywhere in a report.
 */
import { modelErrorSpec, type ErrorPoint } from '../charts/model-error.js';
import { pagingRateSpec, type RatePoint } from '../charts/paging-rate.js';
import { kpps, pct, times } from '../format.js';
import { htmlTable } from '../html.js';
import { figure, type SectionContext, type SectionView } from '../view.js';
import { flagsOf } from './demand-paging.js';
import { isObject, num, rowsOf, ShapeError, sortedDistinct } from './shape.js';
import { publishedRows, TABLE_A_LABEL } from './table-a.js';

interface Row { path: 'uffd' | 'exit'; vcpus: number; rate: number; cpus?: number; options?: Record<string, unknown> }

function readRow(r: Record<string, unknown>): Row {
  const o = isObject(r.options) ? r.options : undefined;
  const vcpus = num(o?.vcpus) ?? num(r.vcpus);
  const rate = num(r.overallRate);
  if ((r.path !== 'uffd' && r.path !== 'exit') || vcpus === undefined || rate === undefined) throw new ShapeError("each result needs 'path', 'options.vcpus' and 'overallRate'");
  return { path: r.path, vcpus, rate, cpus: isObject(r.model) ? num(r.model.cpus) : undefined, options: o };
}

/** The section. */
export async function modelDemandPagingSection(data: unknown, ctx: SectionContext): Promise<SectionView> {
  const rows = rowsOf(data, 'results').map(readRow);
  const published = publishedRows(data);
  const costs = isObject(data) && isObject(data.costs) && typeof data.costs.source === 'string' ? data.costs.source : undefined;
  const cpus = rows[0]?.cpus;
  const label = `model${cpus ? `, ${cpus} simulated CPUs` : ''}`;
  const points: RatePoint[] = rows.map((r) => ({ vcpus: r.vcpus, path: r.path, source: label, k: r.rate / 1000 }));
  for (const a of published?.rows ?? []) points.push({ vcpus: a.vcpus, path: 'uffd', source: TABLE_A_LABEL, k: a.uffdK }, { vcpus: a.vcpus, path: 'exit', source: TABLE_A_LABEL, k: a.exitK });
  const flags = flagsOf(rows[0]?.options);
  const figures = [await figure('paging-rate', pagingRateSpec({
    heading: 'Modelled paging rate against vCPUs',
    subtitle: [`discrete-event model${flags ? `: ${flags}` : ''}`, `costs: ${costs ? costs.split(';')[0] : 'not recorded'} (the section's notes give the profile)`],
    points, solid: label, dashed: published ? [TABLE_A_LABEL] : [],
  }), ctx)];
  const errors: ErrorPoint[] = rows.flatMap((r) => {
    const a = published?.rows.find((x) => x.vcpus === r.vcpus);
    return a ? [{ vcpus: r.vcpus, path: r.path, error: r.rate / ((r.path === 'uffd' ? a.uffdK : a.exitK) * 1000) - 1 }] : [];
  });
  if (errors.length) figures.push(await figure('model-error', modelErrorSpec(errors, 'table A'), ctx));
  const get = (path: string, v: number) => rows.find((r) => r.path === path && r.vcpus === v);
  const table = htmlTable([
    { head: 'vCPUs' }, { head: 'model uffd K/s' }, { head: 'table A uffd', published: true }, { head: 'error' },
    { head: 'model exit K/s' }, { head: 'table A exit', published: true }, { head: 'error' }, { head: 'model exit/uffd' }, { head: 'table A exit/uffd', published: true },
  ], sortedDistinct([...rows.map((r) => r.vcpus), ...(published?.rows ?? []).map((a) => a.vcpus)]).map((v) => {
    const u = get('uffd', v);
    const e = get('exit', v);
    const a = published?.rows.find((x) => x.vcpus === v);
    return [v, u ? kpps(u.rate) : null, a?.uffdK, u && a ? pct(u.rate / (a.uffdK * 1000) - 1) : null,
      e ? kpps(e.rate) : null, a?.exitK, e && a ? pct(e.rate / (a.exitK * 1000) - 1) : null,
      u && e ? times(e.rate / u.rate) : null, a ? times(a.exitK / a.uffdK) : null];
  }));
  const notes = [];
  if (costs) notes.push(`Cost profile: ${costs}`);
  if (published) notes.push(`Published: ${published.source}`);
  return { figures, tables: [table], notes };
}
