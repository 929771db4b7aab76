/** The people's tables of `vcpu-rt model demand-paging` and `model validate`. */
import Table from 'cli-table3';
import type { CostProfile, ModelResult } from '@vcpu-rt/uffd';
import { TABLE_A, TABLE_A_SOURCE } from '../bench/published-postcopy.js';
import type { MachineInfo } from '../bench/stats.js';
import { wrap } from '../text.js';

const k = (v: number): string => (v / 1000).toFixed(v < 10_000 ? 2 : 0);
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`;

/**
 * One line per vCPU count: both paths' modelled rates, their ratio, table A's row and the error of
 * each. The rates are the steady state (model.steadyRate): table A's 16384 pages per vCPU leave no
 * start-up in its rates, a few thousand simulated pages would (the JSON keeps both).
 */
export function modelTable(results: readonly ModelResult[], costs: CostProfile, wallSeconds: number): string {
  const o = results[0]?.options;
  const m = results[0]?.model;
  const t = new Table({ head: ['vCPUs', 'uffd K/s', 'A uffd', 'err', 'exit K/s', 'A exit', 'err', 'exit/uffd', 'A ratio', 'walk/wake', 'Lp wait µs/acq'], style: { head: [], border: [] } });
  const counts = [...new Set(results.map((r) => r.options.vcpus))];
  const errors: number[] = [];
  for (const v of counts) {
    const u = results.find((r) => r.options.vcpus === v && r.path === 'uffd');
    const e = results.find((r) => r.options.vcpus === v && r.path === 'exit');
    const a = TABLE_A.find((x) => x.vcpus === v);
    const eu = u && a ? u.model.steadyRate / (a.uffdK * 1000) - 1 : undefined;
    const ee = e && a ? e.model.steadyRate / (a.exitK * 1000) - 1 : undefined;
    for (const x of [eu, ee]) if (x !== undefined) errors.push(x);
    const lp = u?.uffd.locks.faultPendingWqh;
    t.push([v, u ? k(u.model.steadyRate) : '-', a ? a.uffdK : '-', eu === undefined ? '-' : pct(eu), e ? k(e.model.steadyRate) : '-', a ? a.exitK : '-',
      ee === undefined ? '-' : pct(ee), u && e ? `${(e.model.steadyRate / u.model.steadyRate).toFixed(1)}x` : '-', a ? `${(a.exitK / a.uffdK).toFixed(1)}x` : '-',
      u ? u.uffd.wakes.meanWalked.toFixed(1) : '-', lp && lp.acquisitions ? (lp.waitUs / lp.acquisitions).toFixed(2) : '-']);
  }
  const events = results.reduce((s, r) => s + r.model.events, 0);
  return [
    `model: ${results.length} points, ${events} events in ${wallSeconds.toFixed(1)} s on the pool`,
    ...wrap(`costs: ${costs.source}`, 116),
    o && m ? `config: --cpus ${m.cpus} -b ${o.bytesPerVcpu >> 20}M -u ${o.mode.toUpperCase()}${o.singleUffd ? ' -a' : ''} -r ${o.readers === 'per-vcpu' ? 'n' : o.readers}, fetch ${o.fetchLatencyUs} µs, wake ${o.wake}, ${m.simPages} simulated pages per vCPU; steady-state rates` : '',
    t.toString(),
    errors.length ? `error against table A: worst ${pct(errors.reduce((w, x) => (Math.abs(x) > Math.abs(w) ? x : w), 0))}, ${errors.filter((x) => Math.abs(x) <= 0.25).length} of ${errors.length} points within ±25%` : '',
    `table A (K pages/s): ${TABLE_A_SOURCE}`,
  ].filter((l) => l !== '').join('\n');
}

/** One validation row. */
export interface ValidateRow { path: string; vcpus: number; real: number; min: number; max: number; model: number; error: number }

/** Real runs beside the model with measured costs. */
export function validateTable(rows: readonly ValidateRow[], machine: MachineInfo, costs: CostProfile): string {
  const t = new Table({ head: ['path', 'vCPUs', 'real K/s [min, max]', 'model K/s', 'error'], style: { head: [], border: [] } });
  for (const r of rows) t.push([r.path, r.vcpus, `${k(r.real)} [${k(r.min)}, ${k(r.max)}]`, k(r.model), pct(r.error)]);
  const within = rows.filter((r) => Math.abs(r.error) <= 0.25).length;
  return [
    `machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}; model --cpus ${machine.cpus}`,
    ...wrap(`costs: ${costs.source}`, 116),
    t.toString(),
    `${within} of ${rows.length} points within ±25%`,
  ].join('\n');
}
