/**
 * Paging rate against vCPUs: both fault paths, one series per source (ours, table A, the model), on
 * log scales because table A runs from 36K to 4M pages/s over 1..256 vCPUs.
 */
import { DASH, PALETTE, STROKE_LEGEND, title, type VlSpec } from './theme.js';

/** One point: a path's rate at a vCPU count from one source, with its spread when it was repeated. */
export interface RatePoint {
  vcpus: number;
  path: 'uffd' | 'exit';
  source: string;
  /** K pages/s. */
  k: number;
  lo?: number;
  hi?: number;
}

/** The legend's names of the paths. */
export const PATH_LABEL = { uffd: 'uffd wait queues', exit: 'memory-fault exits (-w)' } as const;

/** What to draw: `solid` names the measured source, the others are drawn dashed with hollow points. */
export interface PagingRateChart {
  heading: string;
  subtitle: string | string[];
  points: readonly RatePoint[];
  solid: string;
  dashed: readonly string[];
}

/** The spec. */
export function pagingRateSpec(c: PagingRateChart): VlSpec {
  const values = c.points.map((p) => ({ ...p, pathLabel: PATH_LABEL[p.path], marker: p.source }));
  const counts = [...new Set(values.map((p) => p.vcpus))].sort((a, b) => a - b);
  const sources = [c.solid, ...c.dashed];
  const x = { field: 'vcpus', type: 'quantitative', title: 'vCPUs (log₂ scale)', scale: { type: 'log', base: 2, nice: false, padding: 12 }, axis: { values: counts, format: 'd', grid: true } };
  const y = { field: 'k', type: 'quantitative', title: 'K pages/s (log scale)', scale: { type: 'log', nice: true }, axis: { format: '~g' } };
  const color = { field: 'pathLabel', type: 'nominal', title: 'path', scale: { domain: [PATH_LABEL.uffd, PATH_LABEL.exit], range: [PALETTE.uffd, PALETTE.exit] } };
  const dash = { field: 'source', type: 'nominal', title: 'figures', scale: { domain: sources, range: sources.map((s) => (s === c.solid ? DASH.solid : DASH.dashed)) }, legend: STROKE_LEGEND };
  // The dash legend names the sources; shapes only help tell overlapping points apart.
  const shape = { field: 'marker', type: 'nominal', scale: { domain: sources, range: sources.map((s, i) => (s === c.solid ? 'circle' : ['square', 'diamond', 'triangle-up'][i % 3])) }, legend: null };
  return {
    title: title(c.heading, c.subtitle),
    width: 440, height: 280,
    data: { values },
    layer: [
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color, strokeDash: dash, detail: { field: 'source' } } },
      { transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }], mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      { mark: { type: 'point', filled: true, size: 55, opacity: 1 }, encoding: { x, y, color, shape, tooltip: [{ field: 'source' }, { field: 'pathLabel' }, { field: 'vcpus' }, { field: 'k', format: '.1f' }] } },
    ],
    resolve: { legend: { strokeDash: 'shared' } },
  };
}
