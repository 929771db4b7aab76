/**
 * The exit/uffd rate ratio against vCPUs: the seed's headline ("up to 10x"; table A: 2.3x at 1 vCPU
 * to 111x at 256), ours beside the published one.
 */
import { DASH, PALETTE, title, type VlSpec } from './theme.js';

/** Coloured line segments: the legend shows both the colour and the dash of a series. */
const LINE_LEGEND = { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400 } as const;

/** One ratio: exit rate over uffd rate at a vCPU count, from one source. */
export interface RatioPoint {
  vcpus: number;
  source: string;
  ratio: number;
}

/** The spec; `solid` names the measured source. */
export function ratioSpec(points: readonly RatioPoint[], solid: string, subtitle: string): VlSpec {
  const sources = [solid, ...new Set(points.map((p) => p.source).filter((s) => s !== solid))];
  const counts = [...new Set(points.map((p) => p.vcpus))].sort((a, b) => a - b);
  const x = { field: 'vcpus', type: 'quantitative', title: 'vCPUs (log₂ scale)', scale: { type: 'log', base: 2, nice: false, padding: 12 }, axis: { values: counts, format: 'd' } };
  const y = { field: 'ratio', type: 'quantitative', title: 'exit ÷ uffd rate (×, log)', scale: { type: 'log' }, axis: { format: '~g' } };
  const color = { field: 'source', type: 'nominal', title: 'figures', scale: { domain: sources, range: sources.map((s) => (s === solid ? PALETTE.ours : PALETTE.published)) }, legend: LINE_LEGEND };
  const dash = { field: 'source', type: 'nominal', title: 'figures', scale: { domain: sources, range: sources.map((s) => (s === solid ? DASH.solid : DASH.dashed)) }, legend: LINE_LEGEND };
  return {
    title: title('Memory-fault exits over uffd: rate ratio', subtitle),
    width: 440, height: 280,
    data: { values: points },
    layer: [
      { mark: { type: 'line' }, encoding: { x, y, color, strokeDash: dash } },
      { mark: { type: 'point', filled: true, size: 55 }, encoding: { x, y, color, tooltip: [{ field: 'source' }, { field: 'vcpus' }, { field: 'ratio', format: '.2f' }] } },
      { mark: { type: 'text', dy: -10, fontSize: 10 }, encoding: { x, y, color, text: { field: 'ratio', format: '.1f' } } },
    ],
  };
}
