/**
 * Blocktime per vCPU (QEMU's postcopy-blocktime): how long each vCPU waited on missing pages, and
 * in the subtitle the time every vCPU was blocked at once — the figure that says a guest stalled.
 */
import { PALETTE, title, type VlSpec } from './theme.js';
import { PATH_LABEL } from './paging-rate.js';

/** A path's blocktime. */
export interface Blocktime {
  path: 'uffd' | 'exit';
  totalUs: number;
  perVcpuUs: readonly number[];
}

/** One bar per path and vCPU. */
export function blocktimeRows(b: readonly Blocktime[]): { vcpu: number; pathLabel: string; ms: number }[] {
  return b.flatMap((x) => x.perVcpuUs.map((us, vcpu) => ({ vcpu, pathLabel: PATH_LABEL[x.path], ms: us / 1000 })));
}

/** The spec, for `vcpus` vCPUs. */
export function blocktimeSpec(b: readonly Blocktime[], vcpus: number): VlSpec {
  const paths = b.map((x) => PATH_LABEL[x.path]);
  return {
    title: title(`Blocktime per vCPU at ${vcpus} vCPU${vcpus > 1 ? 's' : ''} (postcopy-blocktime)`,
      b.map((x) => `${PATH_LABEL[x.path]}: all vCPUs blocked at once for ${(x.totalUs / 1000).toFixed(2)} ms`)),
    width: Math.min(900, Math.max(300, vcpus * b.length * 14)), height: 220,
    data: { values: blocktimeRows(b) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'vcpu', type: 'ordinal', title: 'vCPU', axis: { labelAngle: 0 } },
      xOffset: { field: 'pathLabel', sort: paths },
      y: { field: 'ms', type: 'quantitative', title: 'blocked (ms)' },
      color: { field: 'pathLabel', type: 'nominal', title: 'path', scale: { domain: [PATH_LABEL.uffd, PATH_LABEL.exit], range: [PALETTE.uffd, PALETTE.exit] } },
      tooltip: [{ field: 'pathLabel' }, { field: 'vcpu' }, { field: 'ms', format: '.3f' }],
    },
  };
}
