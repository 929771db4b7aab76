/**
 * The PCI-hole boot scan under each strategy and VMM placement, beside seed 000's figure: 8193 hole
 * accesses at ~1 µs in the kernel against ~6 µs through userspace, drawn as the two reference
 * costs of a whole scan. Log scale: one placement's exits cost a hundred times another's.
 */
import { PALETTE, title, type VlSpec } from './theme.js';

/** One scan cost: a strategy under a VMM placement, ms per scan with its spread. */
export interface ScanPoint {
  strategy: string;
  vmm: string;
  ms: number;
  lo: number;
  hi: number;
}

/** A published reference line across the chart. */
export interface Reference {
  /** In the chart's y unit (ms per scan, or MiB). */
  value: number;
  label: string;
}

const PLACEMENT_COLOR: Record<string, string> = { 'vcpu-thread': PALETTE.vcpuThread, 'main-thread': PALETTE.mainThread, 'main-thread-nopoll': PALETTE.mainThreadNopoll };

/** The scan-cost spec; `strategies` and `placements` in report order. */
export function scanCostSpec(points: readonly ScanPoint[], strategies: readonly string[], placements: readonly string[], refs: readonly Reference[], subtitle: string): VlSpec {
  const x = { field: 'strategy', type: 'nominal', sort: [...strategies], title: 'strategy', axis: { labelAngle: 0 } };
  const xOffset = { field: 'vmm', sort: [...placements] };
  const color = { field: 'vmm', type: 'nominal', title: 'VMM handles exits in', sort: [...placements], scale: { domain: [...placements], range: placements.map((p) => PLACEMENT_COLOR[p] ?? PALETTE.ours) } };
  const y = { field: 'ms', type: 'quantitative', title: 'ms per scan (log scale)', scale: { type: 'log' }, axis: { format: '~g' } };
  return {
    title: title('PCI-hole boot scan: cost per scan', subtitle),
    width: 460, height: 280,
    layer: [
      { data: { values: refs }, mark: { type: 'rule', color: PALETTE.reference, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'value', type: 'quantitative' } } },
      { data: { values: refs }, mark: { type: 'text', align: 'right', dy: -6, fontSize: 10, color: PALETTE.reference }, encoding: { y: { field: 'value', type: 'quantitative' }, x: { value: 456 }, text: { field: 'label' } } },
      {
        data: { values: points },
        layer: [
          { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
          { mark: { type: 'point', filled: true, size: 70 }, encoding: { x, xOffset, y, color, tooltip: [{ field: 'strategy' }, { field: 'vmm' }, { field: 'ms', format: '.3f' }] } },
        ],
      },
    ],
    resolve: { scale: { y: 'shared' } },
  };
}

/** One strategy's host memory. */
export interface HostBytesPoint {
  strategy: string;
  mib: number;
  label: string;
}

/** Host memory per strategy, beside seed 000's 32 MiB for a READONLY 0xff-filled hole. */
export function hostBytesSpec(points: readonly HostBytesPoint[], published: Reference): VlSpec {
  const x = { field: 'strategy', type: 'nominal', sort: points.map((p) => p.strategy), title: 'strategy', axis: { labelAngle: 0 } };
  return {
    title: title('Host memory the strategy allocates', 'populated VMM pages and kernel pages, after the scan'),
    width: 440, height: 220,
    layer: [
      { data: { values: points }, mark: { type: 'bar', color: PALETTE.vcpuThread }, encoding: { x, y: { field: 'mib', type: 'quantitative', title: 'host memory (MiB)' } } },
      { data: { values: points }, mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x, y: { field: 'mib', type: 'quantitative' }, text: { field: 'label' } } },
      { data: { values: [published] }, mark: { type: 'rule', color: PALETTE.reference, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'value', type: 'quantitative' } } },
      { data: { values: [published] }, mark: { type: 'text', align: 'right', dy: -6, fontSize: 10, color: PALETTE.reference }, encoding: { y: { field: 'value', type: 'quantitative' }, x: { value: 436 }, text: { field: 'label' } } },
    ],
  };
}
