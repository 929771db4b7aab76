/**
 * The guest-access hit path: accesses per second for one vCPU and two on disjoint memory, reads
 * and writes; two vCPUs at twice one's rate means the hit path shares nothing.
 */
import { PALETTE, title, type VlSpec } from './theme.js';

/** One rate with its spread, M accesses/s. */
export interface HitPoint {
  access: string;
  vcpus: number;
  m: number;
  lo: number;
  hi: number;
}

/** The spec. */
export function hitPathSpec(points: readonly HitPoint[], subtitle: string): VlSpec {
  const x = { field: 'access', type: 'nominal', title: 'access', axis: { labelAngle: 0 } };
  const xOffset = { field: 'vcpusLabel' };
  const values = points.map((p) => ({ ...p, vcpusLabel: `${p.vcpus} vCPU${p.vcpus > 1 ? 's' : ''}` }));
  const labels = [...new Set(values.map((v) => v.vcpusLabel))];
  const color = { field: 'vcpusLabel', type: 'nominal', title: 'vCPUs at once', scale: { domain: labels, range: [PALETTE.read, PALETTE.exit, PALETTE.tree, PALETTE.array].slice(0, labels.length) } };
  return {
    title: title('Guest-access hit path (TLB-resident memory)', subtitle),
    width: 380, height: 240,
    data: { values },
    layer: [
      { mark: { type: 'bar' }, encoding: { x, xOffset, y: { field: 'm', type: 'quantitative', title: 'M accesses/s, all vCPUs' }, color } },
      { mark: { type: 'rule', color: '#222' }, encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
    ],
  };
}
