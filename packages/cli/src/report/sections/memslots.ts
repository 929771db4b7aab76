/**
 * `bench memslots` in a report: one panel per memslot_perf_test operation with both designs
 * beside seed 004's before/after, and a table per slot count. Moves are charted per iteration of
 * two moves, as the seed publishes them; the map test, capped at 8194 slots as in the selftest,
 * is charted at the slot count it ran for.
 */
import { MEMSLOT_SERIES, memslotsSpec, type MemslotPoint } from '../charts/memslots.js';
import { sig3, times } from '../format.js';
import { htmlTable } from '../html.js';
import { figure, type SectionContext, type SectionView } from '../view.js';
import { isObject, num, rowsOf, ShapeError } from './shape.js';

/** What one unit of each test is, as the panels and tables say it. */
const UNIT: Record<string, string> = {
  setup: 's for all slots', map: 's per 32 MiB iteration', 'move-active': 's per 2 moves', 'move-inactive': 's per 2 moves',
  lookup: 's per lookup, map order', 'lookup-random': 's per lookup, random gfn', unmap: 's per 128 MiB, 4 KiB calls', 'unmap-2m': 's per 128 MiB, 2 MiB calls',
};

interface Row { test: string; impl: 'tree' | 'array'; slots: number; seconds: number; min: number; max: number }
type Figures = Record<string, Record<string, { before: number; after: number }>>;

/** Rows with move figures per iteration and map rows at the slot count they ran for. */
function readRows(raw: Record<string, unknown>[]): Row[] {
  const current: Record<string, number> = {};
  return raw.map((r) => {
    const [slots, seconds] = [num(r.slots), num(r.seconds)];
    if (typeof r.test !== 'string' || (r.impl !== 'tree' && r.impl !== 'array') || slots === undefined || seconds === undefined) throw new ShapeError("each result needs 'test', 'impl', 'slots' and 'seconds'");
    if (r.test !== 'map') current[r.impl] = slots;
    const scale = r.test.startsWith('move') ? 2 : 1;
    const at = r.test === 'map' && current[r.impl] !== undefined && current[r.impl] > slots ? current[r.impl] : slots;
    return { test: r.test, impl: r.impl, slots: at, seconds: seconds * scale, min: (num(r.min) ?? seconds) * scale, max: (num(r.max) ?? seconds) * scale };
  });
}

/** The section. */
export async function memslotsSection(data: unknown, ctx: SectionContext): Promise<SectionView> {
  const rows = readRows(rowsOf(data, 'results'));
  const pub = isObject(data) && isObject(data.published) ? data.published : undefined;
  const figures: Figures = pub && isObject(pub.figures) ? (pub.figures as Figures) : {};
  const tests = [...new Set(rows.map((r) => r.test))];
  const counts = [...new Set(rows.map((r) => r.slots))];
  // Two header lines: the test, then what one unit of it is.
  const panel = (t: string) => `${t}|${UNIT[t] ?? 's'}`;
  const [tree, array, after, before] = MEMSLOT_SERIES;
  const points: MemslotPoint[] = rows.map((r) => ({ test: r.test, panel: panel(r.test), slots: r.slots, series: r.impl === 'tree' ? tree : array, seconds: r.seconds, lo: r.min, hi: r.max }));
  for (const n of counts) {
    for (const t of tests) {
      const p = figures[n]?.[t];
      if (p) points.push({ test: t, panel: panel(t), slots: n, series: after, seconds: p.after }, { test: t, panel: panel(t), slots: n, series: before, seconds: p.before });
    }
  }
  const repeats = Math.max(1, ...rowsOf(data, 'results').map((r) => num(r.repeats) ?? 1));
  const spec = memslotsSpec(points, tests.map(panel), `ours: median of ${repeats} repeat${repeats > 1 ? 's' : ''}, bar = [min, max]; seed 004: Xeon 8167M, TDP MMU off; lookups are not published`);
  const tables = counts.map((n) => htmlTable([
    { head: 'test', text: true }, { head: 'seconds per', text: true }, { head: 'ours: tree' }, { head: 'ours: array' }, { head: 'array/tree' },
    { head: 'seed: before (array)', published: true }, { head: 'seed: after (tree)', published: true }, { head: 'seed: before/after', published: true },
  ], tests.map((t) => {
    const tr = rows.find((r) => r.slots === n && r.test === t && r.impl === 'tree');
    const ar = rows.find((r) => r.slots === n && r.test === t && r.impl === 'array');
    const p = figures[n]?.[t];
    return [t, (UNIT[t] ?? 's').replace(/^s (for|per) /, ''), tr ? sig3(tr.seconds) : null, ar ? sig3(ar.seconds) : null, tr && ar ? times(ar.seconds / tr.seconds) : null,
      p ? sig3(p.before) : null, p ? sig3(p.after) : null, p ? times(p.before / p.after) : null];
  }), `${n} slots${n === 32763 ? ' (published: "32k slots"; map runs with 8194)' : ''}`));
  const notes = pub && typeof pub.source === 'string' ? [`Published: ${pub.source}`] : ['No published figures in this result.'];
  return { figures: [await figure('memslots', spec, ctx)], tables, notes };
}
