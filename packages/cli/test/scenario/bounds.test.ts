/**
 * A scenario step accepts what the command line accepts: for each bounded option, the flag and the
 * scenario key refuse the same first value past the bound and state the same [min, max].
 */
import test from 'ava';
import { loadScenario, ScenarioError } from '#internal/scenario/index.js';
import { cli, tempDir, writeFiles, yaml } from './helpers.js';

interface Bound { command: string[]; flag: string; step: string[]; key: string; min: number; max: number; list?: boolean }

const BOUNDS: Bound[] = [
  { command: ['bench', 'memslots'], flag: '--repeat', step: ['kind: bench', 'bench: memslots'], key: 'repeat', min: 1, max: 100 },
  { command: ['bench', 'memslots'], flag: '--slots', step: ['kind: bench', 'bench: memslots'], key: 'slots', min: 1, max: 32763, list: true },
  { command: ['bench', 'pci-hole'], flag: '--repeat', step: ['kind: bench', 'bench: pci-hole'], key: 'repeat', min: 1, max: 1000 },
  { command: ['bench', 'pci-hole'], flag: '--stray-writes', step: ['kind: bench', 'bench: pci-hole'], key: 'strayWrites', min: 0, max: 100_000 },
  { command: ['bench', 'vcpu'], flag: '--repeat', step: ['kind: bench', 'bench: vcpu'], key: 'repeat', min: 1, max: 1000 },
  { command: ['bench', 'demand-paging'], flag: '--vcpus', step: ['kind: postcopy'], key: 'vcpus', min: 1, max: 64, list: true },
  { command: ['bench', 'demand-paging'], flag: '--readers', step: ['kind: postcopy'], key: 'readers', min: 1, max: 256 },
  { command: ['bench', 'demand-paging'], flag: '--delay-us', step: ['kind: bench', 'bench: demand-paging'], key: 'delayUs', min: 0, max: 1_000_000 },
  { command: ['bench', 'demand-paging'], flag: '--fetch-latency-us', step: ['kind: postcopy'], key: 'fetchLatencyUs', min: 0, max: 1_000_000 },
  { command: ['bench', 'demand-paging'], flag: '--warmup-pages', step: ['kind: postcopy'], key: 'warmupPages', min: 0, max: 65536 },
  { command: ['bench', 'demand-paging'], flag: '--repeat', step: ['kind: postcopy'], key: 'repeat', min: 1, max: 100 },
  { command: ['model', 'demand-paging'], flag: '--vcpus', step: ['kind: model'], key: 'vcpus', min: 1, max: 512, list: true },
  { command: ['model', 'demand-paging'], flag: '--cpus', step: ['kind: model'], key: 'cpus', min: 1, max: 4096 },
  { command: ['model', 'demand-paging'], flag: '--sim-pages', step: ['kind: model'], key: 'simPages', min: 16, max: 65536 },
];

for (const b of BOUNDS) {
  test(`${b.command.join(' ')} ${b.flag} and the scenario's ${b.key}: [${b.min}, ${b.max}]`, async (t) => {
    const range = `[${b.min}, ${b.max}]`;
    const r = cli([...b.command, b.flag, String(b.max + 1)]);
    t.not(r.status, 0);
    t.true(r.stderr.includes(range), r.stderr);
    const value = b.list ? `[${b.max + 1}]` : String(b.max + 1);
    const file = writeFiles(tempDir(), { 's.yaml': yaml('name: b', 'description: d', 'steps:', `  - ${b.step[0]}`, ...b.step.slice(1).map((l) => `    ${l}`), `    ${b.key}: ${value}`) });
    const e = await t.throwsAsync(() => loadScenario(file), { instanceOf: ScenarioError });
    t.true(e!.message.includes(`must be an integer in ${range}`), e!.message);
  });
}
