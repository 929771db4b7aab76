/** `vcpu-rt run` and `vcpu-rt schema` end to end, as people and scripts call them. */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultDocument } from '#internal/result/document.js';
import { DEFAULT_SCENARIO } from '#internal/commands/run.js';
import { cli, ROOT, SCENARIOS, tempDir } from './helpers.js';

const small = ['--set', 'steps[0].duration=0.3'];

test('run --json prints one result document, and nothing else, on stdout', (t) => {
  const r = cli(['run', join(SCENARIOS, 'precopy-dirty-log.yaml'), '--json', ...small]);
  t.is(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as ResultDocument;
  t.is(doc.format, 'vcpu-rt/result@1');
  t.is(doc.scenario?.name, 'precopy-dirty-log');
  t.regex(doc.scenario!.description, /dirty/);
  t.true(doc.scenario!.text.startsWith('# precopy-dirty-log'));
  t.deepEqual(doc.sections.map((s) => s.kind), ['vm']);
  t.true(doc.seconds > 0 && doc.machine.cpus > 0);
  t.regex(r.stderr, /precopy-dirty-log: step 1 of 1/, 'progress goes to stderr');
});

test('run prints a table per section; --out writes result.json and report.html and says where', (t) => {
  const out = tempDir();
  const r = cli(['run', join(SCENARIOS, 'precopy-dirty-log.yaml'), '--out', out, ...small]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /== Dirty logging during a precopy round/);
  t.regex(r.stdout, /dirty log: \d+ rounds; dirty pages per round/);
  t.true(r.stdout.split('\n').every((l) => l.length <= 120));
  t.regex(r.stdout, new RegExp(`report: ${join(out, 'report.html').replace(/[.]/g, '\\.')}`));
  const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
  t.is(doc.sections.length, 1);
  t.true(existsSync(join(out, 'report.html')));
});

test('run with no file runs the embedded default, the postcopy comparison', (t) => {
  t.true(existsSync(DEFAULT_SCENARIO), DEFAULT_SCENARIO);
  t.is(DEFAULT_SCENARIO, join(ROOT, 'scenarios/postcopy-contention.yaml'));
  const r = cli(['run', '--json', '--set', 'steps[0].bytesPerVcpu=1M', '--set', 'steps[0].vcpus=[1]', '--set', 'steps[0].repeat=1',
    '--set', 'steps[0].warmupPages=16', '--set', 'steps[1].vcpus=[2]', '--set', 'steps[1].simPages=32']);
  t.is(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as ResultDocument;
  t.is(doc.scenario?.name, 'postcopy-contention');
  t.regex(doc.scenario!.file, /^\(embedded default\) .*postcopy-contention\.yaml$/);
  t.deepEqual(doc.sections.map((s) => s.kind), ['bench-demand-paging', 'model-demand-paging']);
});

test('schema prints a JSON Schema', (t) => {
  const r = cli(['schema']);
  t.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { type: string; required: string[]; additionalProperties: boolean };
  t.is(s.type, 'object');
  t.deepEqual(s.required.sort(), ['description', 'name', 'steps']);
  t.false(s.additionalProperties);
});
