/**
 * Bad scenarios are refused with the file, the line and column, the field's path and the rule —
 * from the YAML parser, the schema, the file checks, `--set`, and the engine while the scenario runs.
 */
import test from 'ava';
import { join } from 'node:path';
import { loadScenario, runScenario, ScenarioError } from '#internal/scenario/index.js';
import { ERROR_CASES } from './error-cases.js';
import { cli, tempDir, writeFiles, yaml } from './helpers.js';

const quiet = { step() {}, note() {}, stop() {} };

for (const c of ERROR_CASES) {
  test(`refused: ${c.name}`, async (t) => {
    const dir = tempDir();
    const file = c.files ? writeFiles(dir, c.files) : join(dir, 'missing.yaml');
    let loaded;
    const error = await t.throwsAsync(async () => {
      loaded = await loadScenario(file, { overrides: c.overrides });
      await runScenario(loaded, { progress: quiet });
    }, { instanceOf: ScenarioError });
    // The schema, file and override errors come before anything runs; the engine's only while running.
    t.is(loaded === undefined, !c.run, 'refused before running');
    const m = error!.message;
    if (typeof c.fragment === 'string') t.true(m.includes(c.fragment), m);
    else t.regex(m, c.fragment);
    if (c.at) t.true(m.startsWith(`${file}:${c.at}: `), `expected ${c.at}: ${m}`);
    else if (c.overrides) t.true(m.startsWith(`--set ${c.overrides[0]}: `), m);
    else t.true(m.startsWith(`${file}: `), m);
    t.notRegex(m, /\n\s+at /, 'no stack in the message');
  });
}

test('every problem of a file is reported, first in file order', async (t) => {
  const dir = tempDir();
  const file = writeFiles(dir, { 's.yaml': yaml('name: bad', 'description: d', 'steps:', '  - kind: postcopy', '    vcpus: [0]', '    repeat: 0', '    wake: none') });
  const e = await t.throwsAsync(() => loadScenario(file), { instanceOf: ScenarioError });
  const all = (e as ScenarioError & { all: ScenarioError[] }).all.map((x) => `${x.line}:${x.col} ${x.path}`);
  t.deepEqual(all, ['5:13 steps[0].vcpus[0]', '6:13 steps[0].repeat', '7:11 steps[0].wake']);
});

test('the command line prints located errors without a stack and exits with 2', (t) => {
  const dir = tempDir();
  const file = writeFiles(dir, { 's.yaml': yaml('name: bad', 'description: d', 'steps:', '  - kind: postcopy', '    vcpus: [1, 99]') });
  const r = cli(['run', file]);
  t.is(r.status, 2);
  t.is(r.stdout, '');
  t.is(r.stderr, `${file}:5:16: steps[0].vcpus[1]: must be an integer in [1, 64] (got 99)\n`);
  const missing = cli(['run', join(dir, 'nope.yaml')]);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /nope\.yaml: scenario file not found/);
  const bad = cli(['run', '--set', 'steps[0].vcpus=[0]']);
  t.is(bad.status, 2);
  t.is(bad.stderr, '--set steps[0].vcpus=[0]: steps[0].vcpus[0]: must be an integer in [1, 64] (got 0)\n');
});
