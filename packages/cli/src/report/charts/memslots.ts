/**
 * memslot_perf_test's figures per test and slot count: both of our designs beside seed 004's
 * before (array, pre-5.17) and after (tree, 5.17+), one panel per test with its own log scale
 * because the tests span 1e-8 s (a lookup) to 16 s (creating 32k array slots).
 */
import { DASH, PALETTE, type VlSpec } from './theme.js';

/** Coloured line segments: the legend shows both the colour and the dash of a series. */
const LINE_LEGEND = { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400 } as const;

/** One point: seconds per unit of a test at a slot count, from one series. */
export interface MemslotPoint {
  test: string;
  panel: string;
  slots: number;
  series: string;
  seconds: number;
  lo?: number;
  hi?: number;
}

/** The four series, in legend order. */
export const MEMSLOT_SERIES = ['ours: tree', 'ours: array', 'seed 004: after (tree, 5.17+)', 'seed 004: before (array, pre-5.17)'] as const;

/** The spec; `panels` are the facet titles in test order. */
export function memslotsSpec(points: readonly MemslotPoint[], panels: readonly string[], subtitle: string): VlSpec {
  const color = { field: 'series', type: 'nominal', title: 'figures', scale: { domain: [...MEMSLOT_SERIES], range: [PALETTE.tree, PALETTE.array, PALETTE.tree, PALETTE.array] }, legend: LINE_LEGEND };
  const dash = { field: 'series', type: 'nominal', title: 'figures', scale: { domain: [...MEMSLOT_SERIES], range: [DASH.solid, DASH.solid, DASH.dashed, DASH.dashed] }, legend: LINE_LEGEND };
  const shape = { field: 'marker', type: 'nominal', legend: null, scale: { domain: [...MEMSLOT_SERIES], range: ['circle', 'circle', 'diamond', 'diamond'] } };
  const x = { field: 'slots', type: 'ordinal', title: 'memslots', axis: { labelAngle: 0 } };
  const y = { field: 'seconds', type: 'quantitative', title: 'seconds (log)', scale: { type: 'log' }, axis: { format: '.0e', tickCount: 4 } };
  return {
    title: { text: 'Memslot operations: tree against array, beside seed 004', subtitle },
    data: { values: points.map((p) => ({ ...p, marker: p.series })) },
    facet: { field: 'panel', type: 'nominal', sort: [...panels], title: null, header: { labelExpr: "split(datum.label, '|')", labelLimit: 0 } },
    columns: 4,
    spec: {
      width: 190, height: 150,
      layer: [
        { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color, strokeDash: dash, detail: { field: 'series' } } },
        { transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }], mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
        { mark: { type: 'point', filled: true, size: 45 }, encoding: { x, y, color, shape, tooltip: [{ field: 'test' }, { field: 'series' }, { field: 'slots' }, { field: 'seconds', format: '.3e' }] } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}
