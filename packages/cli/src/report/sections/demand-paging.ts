/**
 * `bench demand-paging` in a report: the paging rate and the exit/uffd ratio beside table A, the
 * fault-latency histogram and blocktime per vCPU at the largest vCPU count, and the table.
 */
import { blocktimeSpec, type Blocktime } from '../charts/blocktime.js';
import { latencySpec, type LatencyDist } from '../charts/latency.js';
import { pagingRateSpec, type RatePoint } from '../charts/paging-rate.js';
import { ratioSpec, type RatioPoint } from '../charts/ratio.js';
import { kpps, times } from '../format.js';
import { htmlTable } from '../html.js';
import { figure, type SectionContext, type SectionView } from '../view.js';
import { publishedRows, TABLE_A_LABEL } from './table-a.js';
import { isObject, num, rowsOf, ShapeError, sortedDistinct } from './shape.js';

/** What a row of `bench demand-paging --json` gives the report. */
interface Row {
  path: 'uffd' | 'exit';
  vcpus: number;
  median: number;
  min: number;
  max: number;
  repeats: number;
  oversubscribed: boolean;
  latency?: LatencyDist;
  blocktime?: Blocktime;
  options?: Record<string, unknown>;
}

function readRow(r: Record<string, unknown>): Row {
  const path = r.path;
  const vcpus = num(r.vcpus);
  const o = isObject(r.overall) ? r.overall : {};
  const median = num(o.median) ?? num(r.overallRate);
  if ((path !== 'uffd' && path !== 'exit') || vcpus === undefined || median === undefined) throw new ShapeError("each result needs 'path', 'vcpus' and 'overall.median' or 'overallRate'");
  const lat = isObject(r.latency) && Array.isArray(r.latency.dist) ? r.latency : undefined;
  const bt = isObject(r.blocktime) && Array.isArray(r.blocktime.perVcpuUs) ? r.blocktime : undefined;
  return {
    path, vcpus, median, min: num(o.min) ?? median, max: num(o.max) ?? median, repeats: num(o.repeats) ?? 1, oversubscribed: r.oversubscribed === true,
    latency: lat ? { path, dist: lat.dist as number[], p50Us: num(lat.p50Us) ?? 0, p99Us: num(lat.p99Us) ?? 0 } : undefined,
    blocktime: bt ? { path, totalUs: num(bt.totalUs) ?? 0, perVcpuUs: bt.perVcpuUs as number[] } : undefined,
    options: isObject(r.options) ? r.options : undefined,
  };
}

/** demand_paging_test's flags of a run, as its command line spells them. */
export function flagsOf(o: Record<string, unknown> | undefined): string {
  if (!o) return '';
  const b = num(o.bytesPerVcpu);
  const parts = [b !== undefined ? `-b ${b >= 1 << 20 ? `${b / (1 << 20)}M` : `${b / 1024}K`}` : '', typeof o.mode === 'string' ? `-u ${o.mode.toUpperCase()}` : '',
    o.singleUffd === true ? '-a' : '', o.readers !== undefined ? `-r ${o.readers === 'per-vcpu' ? 'n' : o.readers}` : '',
    num(o.fetchLatencyUs) ? `fetch ${o.fetchLatencyUs} µs` : '', o.wake === 'exclusive' ? 'exclusive wake' : ''];
  return parts.filter(Boolean).join(' ');
}

/** The section. */
export async function demandPagingSection(data: unknown, ctx: SectionContext): Promise<SectionView> {
  const rows = rowsOf(data, 'results').map(readRow);
  const published = publishedRows(data);
  const ours = `ours, ${ctx.machine.cpus}-cpu machine`;
  const points: RatePoint[] = rows.map((r) => ({ vcpus: r.vcpus, path: r.path, source: ours, k: r.median / 1000, lo: r.min / 1000, hi: r.max / 1000 }));
  for (const a of published?.rows ?? []) points.push({ vcpus: a.vcpus, path: 'uffd', source: TABLE_A_LABEL, k: a.uffdK }, { vcpus: a.vcpus, path: 'exit', source: TABLE_A_LABEL, k: a.exitK });
  const repeats = Math.max(...rows.map((r) => r.repeats));
  const flags = flagsOf(rows[0]?.options);
  const figures = [await figure('paging-rate', pagingRateSpec({
    heading: 'Demand-paging rate against vCPUs',
    subtitle: [`ours: median of ${repeats} run${repeats > 1 ? 's' : ''}, bar = [min, max]`, ...(flags ? [`ours: ${flags}`] : []),
      published ? 'table A: -b 64M -u MINOR -a -r n on a 256-CPU AMD EPYC 7B13 host, n = 5' : 'no published rows in this result'],
    points, solid: ours, dashed: published ? [TABLE_A_LABEL] : [],
  }), ctx)];
  const counts = sortedDistinct(rows.map((r) => r.vcpus));
  const get = (path: string, v: number) => rows.find((r) => r.path === path && r.vcpus === v);
  const ratios: RatioPoint[] = counts.flatMap((v) => {
    const u = get('uffd', v);
    const e = get('exit', v);
    return u && e ? [{ vcpus: v, source: ours, ratio: e.median / u.median }] : [];
  });
  for (const a of published?.rows ?? []) ratios.push({ vcpus: a.vcpus, source: TABLE_A_LABEL, ratio: a.exitK / a.uffdK });
  if (ratios.some((r) => r.source === ours)) figures.push(await figure('ratio', ratioSpec(ratios, ours, 'the seed claims "up to 10x"; table A: 2.3x at 1 vCPU to 111x at 256'), ctx));
  const top = counts[counts.length - 1];
  const dists = rows.filter((r) => r.vcpus === top && r.latency).map((r) => r.latency!);
  if (dists.length) figures.push(await figure('latency', latencySpec(dists, top), ctx));
  const blocks = rows.filter((r) => r.vcpus === top && r.blocktime).map((r) => r.blocktime!);
  if (blocks.length) figures.push(await figure('blocktime', blocktimeSpec(blocks, top), ctx));

  const all = sortedDistinct([...counts, ...(published?.rows ?? []).map((a) => a.vcpus)]);
  const cell = (r?: Row) => (r ? `${kpps(r.median)} [${kpps(r.min)}, ${kpps(r.max)}]${r.oversubscribed ? ' *' : ''}` : null);
  const lat = (r?: Row) => (r?.latency ? `${r.latency.p50Us.toFixed(1)} / ${r.latency.p99Us.toFixed(1)}` : null);
  const table = htmlTable([
    { head: 'vCPUs' }, { head: 'ours uffd K pages/s [min, max]' }, { head: 'ours exit K pages/s [min, max]' }, { head: 'ours exit/uffd' },
    { head: 'uffd p50 / p99 µs' }, { head: 'exit p50 / p99 µs' },
    { head: 'table A uffd K/s', published: true }, { head: 'table A exit K/s', published: true }, { head: 'table A exit/uffd', published: true },
  ], all.map((v) => {
    const u = get('uffd', v);
    const e = get('exit', v);
    const a = published?.rows.find((x) => x.vcpus === v);
    return [v, cell(u), cell(e), u && e ? times(e.median / u.median) : null, lat(u), lat(e), a?.uffdK, a?.exitK, a ? times(a.exitK / a.uffdK) : null];
  }));
  const notes = [];
  if (rows.some((r) => r.oversubscribed)) notes.push('* oversubscribed: more runnable threads (vCPUs + readers) than the machine has CPUs.');
  if (published) notes.push(`Published: ${published.source}`);
  return { figures, tables: [table], notes };
}
