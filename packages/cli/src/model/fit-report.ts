/** The people's tables of `vcpu-rt model fit` and `vcpu-rt model configurations`. */
import Table from 'cli-table3';
import { TABLE_A_ROWS, type ConfigurationsResult, type TableAFit } from '@vcpu-rt/uffd';

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`;
const k = (v: number): string => (v / 1000).toFixed(v < 10_000 ? 1 : 0);

/** The fitted numbers beside the committed ones, and each path's error per row at the fit's page count. */
export function fitReport(fit: TableAFit, committed: Readonly<Record<string, number>>): string {
  const fitted: Record<string, number> = { ...fit.exit, ...fit.uffd };
  const t = new Table({ head: ['field', 'fitted', 'committed', 'fitted to'], style: { head: [], border: [] } });
  for (const [name, v] of Object.entries(fitted)) t.push([name, String(v), String(committed[name] ?? '-'), name in fit.exit ? 'table A exit rows' : 'table A uffd rows']);
  const e = new Table({ head: ['vCPUs', ...TABLE_A_ROWS.map((r) => String(r.vcpus))], style: { head: [], border: [] } });
  e.push(['uffd', ...fit.uffdErrors.map(pct)], ['exit', ...fit.exitErrors.map(pct)]);
  const same = Object.entries(committed).every(([name, v]) => fitted[name] === v);
  return [
    `table-A fit: ${fit.evaluations} evaluations (each a path's nine rows, steady-state rates) in ${fit.seconds.toFixed(0)} s`,
    t.toString(),
    'error against table A (steady-state rates, the fit\'s page counts):',
    e.toString(),
    same ? 'the fit reproduces the committed numbers (PUBLISHED_FIT)' : 'the fit DIFFERS from the committed numbers (PUBLISHED_FIT)',
  ].join('\n');
}

/** Which bound holds where, in words: runs of vCPU counts with the same binding bound. */
function boundLine(r: ConfigurationsResult, row: ConfigurationsResult['rows'][number]): string {
  if (row.fetchLatencyUs === 0) return '';
  const runs: string[] = [];
  let i = 0;
  while (i < r.vcpus.length) {
    let j = i;
    while (j + 1 < r.vcpus.length && row.binding[j + 1] === row.binding[i]) j++;
    runs.push(`${row.binding[i]}-bound at ${i === j ? r.vcpus[i] : `${r.vcpus[i]}–${r.vcpus[j]}`}`);
    i = j + 1;
  }
  const turn = row.contentionFrom === null ? 'never contention-bound in this sweep' : row.contentionFrom === r.vcpus[0] ? 'contention-bound from the start'
    : `contention-bound from ${row.contentionFrom} vCPUs`;
  return `${row.name}, ${row.fetchLatencyUs} µs: ${turn} (${runs.join(', ')})`;
}

/** One line per configuration and fetch latency with the rate per vCPU count, then a line each on which bound holds where. */
export function configurationsTable(r: ConfigurationsResult, seconds: number): string {
  const t = new Table({ head: ['configuration', 'fetch', ...r.vcpus.map(String)], style: { head: [], border: [], 'padding-left': 0, 'padding-right': 1 } });
  for (const row of r.rows) t.push([row.name, `${row.fetchLatencyUs} µs`, ...row.rates.map(k)]);
  return [
    `the published profile, unchanged; --cpus ${r.cpus}, MINOR, 64 MiB per vCPU, max(${r.simPages}, 4 × vCPUs) simulated pages per vCPU;`,
    `${r.rows.length * r.vcpus.length} points, ${(r.events / 1e6).toFixed(1)} M events in ${seconds.toFixed(0)} s. Steady-state rates, K pages/s (overall):`,
    t.toString(),
    'The lowest bound (docs/model.md §6): network N / (fetch + t1), readers min(R, N) / (fetch + t1) with R readers in all',
    '(each fetches synchronously), contention = the configuration without fetch; t1 = its 1-vCPU time per fault.',
    ...r.rows.map((row) => boundLine(r, row)).filter((l) => l !== ''),
  ].join('\n');
}
