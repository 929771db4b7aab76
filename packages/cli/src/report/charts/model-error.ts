/**
 * The model's error per point against its reference (table A, or real runs), with the ±25% lines
 * the model aims for, so a reader sees at a glance where the model holds and where it does not.
 */
import { PALETTE, title, type VlSpec } from './theme.js';
import { PATH_LABEL } from './paging-rate.js';

/** One point's relative error (model / reference − 1). */
export interface ErrorPoint {
  vcpus: number;
  path: 'uffd' | 'exit';
  error: number;
}

/** The spec; `against` names the reference in the title. */
export function modelErrorSpec(points: readonly ErrorPoint[], against: string): VlSpec {
  const values = points.map((p) => ({ ...p, pct: 100 * p.error, pathLabel: PATH_LABEL[p.path] }));
  const within = points.filter((p) => Math.abs(p.error) <= 0.25).length;
  return {
    title: title(`Model error against ${against}`, `${within} of ${points.length} points within ±25% (dashed lines)`),
    width: 440, height: 240,
    layer: [
      { data: { values: [{ y: -25 }, { y: 25 }] }, mark: { type: 'rule', color: PALETTE.reference, strokeDash: [4, 3] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      {
        data: { values }, mark: { type: 'bar' },
        encoding: {
          x: { field: 'vcpus', type: 'ordinal', title: 'vCPUs', axis: { labelAngle: 0 } },
          xOffset: { field: 'pathLabel', sort: [PATH_LABEL.uffd, PATH_LABEL.exit] },
          y: { field: 'pct', type: 'quantitative', title: 'model ÷ reference − 1 (%)' },
          color: { field: 'pathLabel', type: 'nominal', title: 'path', scale: { domain: [PATH_LABEL.uffd, PATH_LABEL.exit], range: [PALETTE.uffd, PALETTE.exit] } },
          tooltip: [{ field: 'pathLabel' }, { field: 'vcpus' }, { field: 'pct', format: '+.0f' }],
        },
      },
    ],
  };
}
