/** `vcpu-rt model`: the sweep beside table A, cost profiles from files, and the events/s benchmark. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCosts, modelTable } from '@vcpu-rt/cli';
import { modelSweep, PUBLISHED_COSTS } from '@vcpu-rt/uffd';

const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });

test('model demand-paging: one row per vCPU count with table A, its error and the ratio', (t) => {
  const r = cli('model', 'demand-paging', '-v', '1,4,256', '--sim-pages', '64');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /│ 1 +│ [\d.]+ +│ 150 +│ [+-]\d+% +│ [\d.]+ +│ 340 +│ [+-]\d+%/);
  t.regex(r.stdout, /│ 256 +│/);
  t.regex(r.stdout, /error against table A: worst [+-]\d+%, \d of 6 points within ±25%/);
  t.is(r.stderr.split('\n').filter((l) => l.startsWith('[')).length, 6);
  const j = cli('model', 'demand-paging', '-v', '2', '--path', 'exit', '--cpus', '2', '--sim-pages', '32', '--json');
  t.is(j.status, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as { results: { path: string; overallRate: number; model: { cpus: number } }[] };
  t.is(doc.results.length, 1);
  t.is(doc.results[0].path, 'exit');
  t.is(doc.results[0].model.cpus, 2);
});

test('model: --costs takes a JSON file, and a bad one is refused with the file, the field and the rule', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vcpu-rt-costs-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ ...PUBLISHED_COSTS, source: 'mine', wakeupUs: 5 }));
  t.is(loadCosts(good).wakeupUs, 5);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...PUBLISHED_COSTS, exitUs: -2 }));
  const r = cli('model', 'demand-paging', '-v', '1', '--costs', bad);
  t.not(r.status, 0);
  t.regex(r.stderr, /bad\.json: 'exitUs' must be a finite number >= 0 \(got -2\)/);
  t.throws(() => loadCosts(join(dir, 'missing.json')), { message: /missing\.json does not exist/ });
  writeFileSync(join(dir, 'broken.json'), '{ "exitUs": ');
  t.throws(() => loadCosts(join(dir, 'broken.json')), { message: /broken\.json is not JSON/ });
  t.regex(cli('model', 'demand-paging', '-v', '600').stderr, /--vcpus: each value must be an integer in \[1, 512\]/);
  t.regex(cli('model', 'demand-paging', '--cpus', '0').stderr, /--cpus must be an integer in \[1, 4096\]/);
});

test('modelTable renders a sweep in 120 columns', async (t) => {
  const results = await modelSweep([1, 2].flatMap((vcpus) => [false, true].map((exits) => ({ vcpus, exits, cpus: 256, costs: PUBLISHED_COSTS, simPages: 32 }))));
  const table = modelTable(results, PUBLISHED_COSTS, 0.1);
  t.true(table.split('\n').every((l) => l.length <= 120), table);
  t.regex(table, /│ 2 +│/);
});

test('bench model: events per second and the table-A sweep time', (t) => {
  const r = cli('bench', 'model', '--repeat', '1', '--json');
  t.is(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { results: { eventsPerSecond: { median: number }; tableASweep: { seconds: number; points: number; events: number } } };
  t.true(doc.results.eventsPerSecond.median > 1e5);
  t.is(doc.results.tableASweep.points, 18);
  t.true(doc.results.tableASweep.seconds < 60);
});

test('model configurations: a rate per configuration, fetch latency and vCPU count, and a line on which bound holds where', (t) => {
  const r = cli('model', 'configurations', '-v', '1,2', '--sim-pages', '32');
  t.is(r.status, 0, r.stderr);
  for (const name of ['A: 1 uffd, N readers', '1 uffd, 1 reader', '1 uffd, N readers, excl.', 'N uffds, 1 reader each', 'exits (-w)']) {
    t.regex(r.stdout, new RegExp(`│${name.replace(/[.()]/g, '\\$&')} +│0 µs +│`));
    t.regex(r.stdout, new RegExp(`^${name.replace(/[.()]/g, '\\$&')}, 30 µs: .*-bound at 1`, 'm'));
  }
  t.true(r.stdout.split('\n').every((l) => [...l].length <= 120), r.stdout);
  const j = cli('model', 'configurations', '-v', '1,4', '--sim-pages', '32', '--json');
  t.is(j.status, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as { vcpus: number[]; rows: { name: string; fetchLatencyUs: number; rates: number[]; binding: (string | null)[] }[] };
  t.deepEqual(doc.vcpus, [1, 4]);
  t.is(doc.rows.length, 15);
  t.true(doc.rows.every((row) => row.rates.length === 2 && row.rates.every((x) => x > 0)));
  t.deepEqual(doc.rows.find((row) => row.fetchLatencyUs === 0)?.binding, [null, null]);
  t.regex(cli('model', 'configurations', '-v', '0').stderr, /--vcpus: each value must be an integer in \[1, 512\]/);
});

test('model fit: the command exists (the fit itself takes minutes: docs/model.md §5), and its table of fitted against committed numbers', (t) => {
  const r = cli('model', 'fit', '--help');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /table-A fit/);
});

