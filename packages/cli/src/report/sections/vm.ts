/**
 * A scenario's own VM step in a report (data shape: scenario/vm/data.ts): its per-interval
 * `series` as small multiples with the host actions marked, each vCPU's access rate, every other
 * list (actions, dirty-log rounds, vCPUs) as a table, its scalars as a table and its nested blocks
 * as JSON. The scenario runner owns the shape, so this reads whatever fields it finds.
 */
import { seriesShape, timeSeriesSpec, vcpuSeriesSpec, type Marker } from '../charts/vm.js';
import { sig3 } from '../format.js';
import { esc, htmlTable } from '../html.js';
import { figure, type Figure, type SectionContext, type SectionView } from '../view.js';
import { isObject, num } from './shape.js';

/** Most rows a list table shows; the JSON file keeps the rest. */
const MAX_ROWS = 40;

function cell(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? v : sig3(v);
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ');
  // One level of an object, compact: `io-sync 12, mmio-read 3`.
  return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k} ${typeof x === 'number' ? (Number.isInteger(x) ? x : sig3(x)) : JSON.stringify(x)}`).join(', ');
}

function listTable(name: string, rows: Record<string, unknown>[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const shown = rows.slice(0, MAX_ROWS);
  const more = rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} of ${rows.length} rows; result.json has them all)` : '';
  return htmlTable(keys.map((k) => ({ head: k, text: !rows.every((r) => r[k] === undefined || typeof r[k] === 'number') })), shown.map((r) => keys.map((k) => cell(r[k]))), `${name}${more}`);
}

/** Host actions as chart markers. */
function markers(actions: unknown): Marker[] {
  if (!Array.isArray(actions)) return [];
  return actions.filter(isObject).flatMap((a) => {
    const t = num(a.t);
    return t === undefined ? [] : [{ t, label: [a.action, a.detail].filter((x) => typeof x === 'string' && x).join(': ') }];
  });
}

/** A block of the section (`churn`, `mmu`, `memory`): its scalars as a one-row table, its lists as tables of their own. */
function blockTables(name: string, block: Record<string, unknown>): string[] {
  const flat = Object.entries(block).filter(([, v]) => !(Array.isArray(v) && v.every(isObject)));
  const lists = Object.entries(block).filter(([, v]) => Array.isArray(v) && v.length > 0 && v.every(isObject)) as [string, Record<string, unknown>[]][];
  const out = flat.length ? [htmlTable(flat.map(([k, v]) => ({ head: k, text: typeof v !== 'number' })), [flat.map(([, v]) => cell(v))], name)] : [];
  return [...out, ...lists.map(([k, v]) => listTable(`${name}.${k}`, v))];
}

/** Lists drawn as charts, not repeated as tables. */
const CHARTED = new Set(['series', 'vcpuSeries']);
/** Fields the page shows elsewhere. */
const SKIP = new Set(['units', 'machine', 'title']);

/** The section. */
export async function vmSection(data: unknown, ctx: SectionContext): Promise<SectionView> {
  if (!isObject(data)) return { figures: [], tables: [`<pre class="json">${esc(JSON.stringify(data, null, 2))}</pre>`], notes: [] };
  const figures: Figure[] = [];
  const tables: string[] = [];
  const units = isObject(data.units) ? Object.fromEntries(Object.entries(data.units).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  const series = Array.isArray(data.series) && data.series.every(isObject) ? data.series : undefined;
  const shape = series ? seriesShape(series) : undefined;
  if (series && shape) {
    // A field that stayed 0 throughout would draw an empty panel: it is named instead.
    const zero = shape.metrics.filter((m) => series.every((r) => r[m] === undefined || r[m] === 0));
    const drawn = shape.metrics.filter((m) => !zero.includes(m));
    if (drawn.length) figures.push(await figure('vm', timeSeriesSpec(series, shape.time, drawn, typeof data.title === 'string' ? data.title : 'The VM over time', units, markers(data.actions), zero), ctx));
  } else if (series?.length) tables.push(listTable('series', series));
  const perVcpu = Array.isArray(data.vcpuSeries) ? data.vcpuSeries.filter(isObject).flatMap((r) => {
    const [t, vcpu, rate] = [num(r.t), num(r.vcpu), num(r.accessesPerSecond)];
    return t === undefined || vcpu === undefined || rate === undefined ? [] : [{ t, vcpu, accessesPerSecond: rate }];
  }) : [];
  if (perVcpu.length && new Set(perVcpu.map((r) => r.vcpu)).size > 1) figures.push(await figure('vm-vcpus', vcpuSeriesSpec(perVcpu), ctx));
  const scalars: [string, unknown][] = [];
  const nested: [string, unknown][] = [];
  for (const [k, v] of Object.entries(data)) {
    if (CHARTED.has(k) || SKIP.has(k)) continue;
    if (Array.isArray(v) && v.length && v.every(isObject)) tables.push(listTable(k, v));
    else if (Array.isArray(v) && v.length === 0) continue;
    else if (v === null || typeof v !== 'object') scalars.push([k, v]);
    else nested.push([k, v]);
  }
  if (scalars.length) tables.unshift(htmlTable([{ head: 'field', text: true }, { head: 'value', text: true }], scalars.map(([k, v]) => [k, cell(v)])));
  for (const [k, v] of nested) {
    // The set-up repeats the scenario's own text (at the end of the page): folded away.
    if (k === 'config' || !isObject(v)) tables.push(`<details><summary>${esc(k)}</summary><pre class="json">${esc(JSON.stringify(v, null, 2))}</pre></details>`);
    else tables.push(...blockTables(k, v));
  }
  return { figures, tables, notes: [] };
}
