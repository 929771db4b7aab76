/**
 * A scenario's own VM over time: every numeric field of its per-interval series (guest access
 * rate, exits, memslot generation, churn, zaps, dirty pages) as a small multiple on a shared time
 * axis, with the host's one-shot actions drawn across every panel, so a slot move or a `dontneed`
 * lines up with what the guest saw whatever the scenario chose to measure.
 */
import { PALETTE, title, type VlSpec } from './theme.js';

/** Axis labels with SI prefixes (2.5M, 400k), and a plain 0 rather than vega's `0M`. */
const SI_LABEL = "datum.value == 0 ? '0' : format(datum.value, '~s')";

/** Field names taken as the time axis, first match wins. */
export const TIME_FIELDS = ['t', 'time', 'tSeconds', 'atSeconds', 'seconds', 'at', 'interval'] as const;

/** The time field of `rows` and their numeric metrics, or undefined when there is no time field. */
export function seriesShape(rows: readonly Record<string, unknown>[]): { time: string; metrics: string[] } | undefined {
  const first = rows[0];
  if (!first) return undefined;
  const time = TIME_FIELDS.find((f) => typeof first[f] === 'number');
  if (!time) return undefined;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const metrics = keys.filter((k) => k !== time && k !== 'vcpu' && rows.some((r) => typeof r[k] === 'number' && Number.isFinite(r[k] as number)));
  return metrics.length ? { time, metrics } : undefined;
}

/** One point per interval and metric. */
export function seriesRows(rows: readonly Record<string, unknown>[], time: string, metrics: readonly string[]): { t: number; metric: string; value: number }[] {
  return rows.flatMap((r) => metrics.filter((m) => typeof r[m] === 'number' && Number.isFinite(r[m] as number)).map((m) => ({ t: r[time] as number, metric: m, value: r[m] as number })));
}

/** A host action at a time, drawn as a vertical rule. */
export interface Marker {
  t: number;
  label: string;
}

/** The small-multiples spec; `units` maps a metric to the unit its panel header shows. */
export function timeSeriesSpec(rows: readonly Record<string, unknown>[], time: string, metrics: readonly string[], heading: string,
  units: Record<string, string> = {}, markers: readonly Marker[] = [], zero: readonly string[] = []): VlSpec {
  const panel = (m: string) => (units[m] ? `${m}|${units[m]}` : m);
  const values = seriesRows(rows, time, metrics).map((p) => ({ ...p, panel: panel(p.metric) }));
  // Every panel draws every marker: a facet's layers share its data, so the markers join it per panel.
  const rules = metrics.flatMap((m) => markers.map((k) => ({ t: k.t, panel: panel(m), marker: k.label })));
  const x = { field: 't', type: 'quantitative', title: 'time since the guests started (s)' };
  const y = { field: 'value', type: 'quantitative', title: null, axis: { labelExpr: SI_LABEL } };
  const sub = ['one panel per measured field, per interval', markers.length ? 'dashed: host actions' : '', zero.length ? `0 throughout: ${zero.join(', ')}` : ''];
  return {
    title: title(heading, sub.filter(Boolean).join('; '), 90),
    data: { values: [...values, ...rules] },
    facet: { field: 'panel', type: 'nominal', sort: metrics.map(panel), title: null, header: { labelExpr: "split(datum.label, '|')", labelLimit: 0 } },
    columns: 2,
    spec: {
      width: 400, height: 120,
      layer: [
        { transform: [{ filter: 'isValid(datum.marker)' }], mark: { type: 'rule', color: PALETTE.reference, strokeDash: [4, 3] }, encoding: { x, tooltip: [{ field: 'marker' }] } },
        { transform: [{ filter: '!isValid(datum.marker)' }], mark: { type: 'line', color: PALETTE.uffd, strokeWidth: 1.5 }, encoding: { x, y } },
        { transform: [{ filter: '!isValid(datum.marker)' }], mark: { type: 'point', filled: true, size: 18, color: PALETTE.uffd }, encoding: { x, y, tooltip: [{ field: 't' }, { field: 'value' }] } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** Each vCPU's access rate over time, one line per vCPU: whether the vCPUs were slowed alike. */
export function vcpuSeriesSpec(rows: readonly { t: number; vcpu: number; accessesPerSecond: number }[]): VlSpec {
  const x = { field: 't', type: 'quantitative', title: 'time since the guests started (s)' };
  const y = { field: 'accessesPerSecond', type: 'quantitative', title: 'guest accesses/s', axis: { labelExpr: SI_LABEL } };
  const color = { field: 'vcpu', type: 'nominal', title: 'vCPU', scale: { range: [PALETTE.uffd, PALETTE.exit, PALETTE.tree, PALETTE.array, PALETTE.mainThread, PALETTE.mainThreadNopoll] } };
  return {
    title: title('Guest accesses per vCPU', 'per interval'),
    width: 440, height: 200,
    data: { values: rows },
    layer: [
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color } },
      { mark: { type: 'point', filled: true, size: 16 }, encoding: { x, y, color } },
    ],
  };
}
