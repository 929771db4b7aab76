/** The JSON Schema `vcpu-rt schema` prints validates every shipped scenario and rejects bad ones. */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { scenarioJsonSchema } from '#internal/scenario/index.js';
import { cli, SCENARIOS } from './helpers.js';

const shipped = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')).sort();
let compiled: ReturnType<Ajv2020["compile"]> | undefined;
const validator = () => (compiled ??= new Ajv2020({ allErrors: true, strict: true }).compile(scenarioJsonSchema()));

test('the shipped scenarios are the four of the issue', (t) => {
  t.deepEqual(shipped, ['memslot-churn.yaml', 'pci-hole-boot.yaml', 'postcopy-contention.yaml', 'precopy-dirty-log.yaml']);
});

for (const f of shipped) {
  test(`the JSON Schema validates ${f}`, (t) => {
    const validate = validator();
    const ok = validate(parse(readFileSync(join(SCENARIOS, f), 'utf8')));
    t.true(ok, JSON.stringify(validate.errors, null, 2));
  });
}

test('the JSON Schema rejects unknown keys, wrong kinds, wrong types and out-of-range values', (t) => {
  const validate = validator();
  const good = parse(readFileSync(join(SCENARIOS, 'postcopy-contention.yaml'), 'utf8')) as { steps: Record<string, unknown>[] };
  t.true(validate(good));
  const bad = (edit: (s: { steps: Record<string, unknown>[] } & Record<string, unknown>) => void) => {
    const s = structuredClone(good) as typeof good & Record<string, unknown>;
    edit(s);
    return validate(s);
  };
  t.false(bad((s) => { s.steps[0].repet = 3; }), 'unknown key in a step');
  t.false(bad((s) => { s.extra = 1; }), 'unknown top-level key');
  t.false(bad((s) => { s.steps[0].kind = 'benchmark'; }), 'unknown kind');
  t.false(bad((s) => { s.steps[0].vcpus = [1, 65]; }), 'vCPUs above 64');
  t.false(bad((s) => { s.steps[0].repeat = 'three'; }), 'a string for an integer');
  t.false(bad((s) => { s.steps[0].bytesPerVcpu = '32 megs'; }), 'a size that is no size');
  t.false(bad((s) => { delete s.description; }), 'no description');
  t.false(bad((s) => { s.steps = []; }), 'no steps');
});

test('vcpu-rt schema prints the same schema as JSON', (t) => {
  const r = cli(['schema']);
  t.is(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as Record<string, unknown>;
  t.deepEqual(printed, JSON.parse(JSON.stringify(scenarioJsonSchema())));
  t.is(printed.$schema, 'https://json-schema.org/draft/2020-12/schema');
  t.is((printed.properties as Record<string, unknown>).steps !== undefined, true);
});
