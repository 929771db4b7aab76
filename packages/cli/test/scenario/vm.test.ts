/** A vm step's VMM loop and timeline: memory-fault exits, module guests, one-shot host actions, cleanup. */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { loadScenario, runScenario, vmTable, type VmSectionData } from '#internal/scenario/index.js';
import { tempDir, writeFiles, yaml } from './helpers.js';

const quiet = { step() {}, note() {}, stop() {} };

const guest = [
  'export function main(ctx, args) {',
  '  for (let p = 0; p < args.pages; p++) ctx.write32(p * 4096, p + 1);',
  '  let sum = 0;',
  '  for (let p = 0; p < args.pages; p++) sum += ctx.read32(p * 4096);',
  '  return [sum];',
  '}',
].join('\n');

test('memory-fault exits are resolved by the VMM, a module guest returns its result, host actions are recorded', async (t) => {
  const dir = tempDir();
  const file = writeFiles(dir, {
    's.yaml': yaml(
      'name: faults', 'description: memory-fault exits under a module guest', 'steps:',
      '  - kind: vm',
      '    enableCaps:',
      '      - { cap: KVM_CAP_X86_MEMORY_FAULT_EXIT, flags: [KVM_MEMFAULT_REASON_ABSENT_MAPPING] }',
      '    regions:',
      '      - { name: ram, size: 1M }',
      '    memslots:',
      '      - { slot: 1, gpa: 0, size: 1M, region: ram, flags: [ABSENT_MAPPING_FAULT] }',
      '    vcpus:',
      '      - guest: module',
      '        module: guests/sum.mjs',
      '        args: { pages: 16 }',
      '    timeline:',
      '      - { action: memslot, at: 0.1, slot: 2, gpa: 16M, size: 64K, region: ram }',
      '      - { action: memslot, at: 0.2, slot: 2, size: 0 }',
      '      - { action: dontneed, at: 0.25, region: ram }',
      '    duration: 0.4'),
  });
  writeFiles(tempDirIn(dir, 'guests'), { 'sum.mjs': guest });
  const doc = await runScenario(await loadScenario(file), { progress: quiet });
  const d = doc.sections[0].data as VmSectionData;
  const v = d.vcpus[0];
  t.true(v.finished);
  t.deepEqual(v.values, [136]);
  t.is(v.exits!['memory-fault'], 16, 'one exit per absent page');
  t.is(v.stats!.memoryFaults, 16);
  t.deepEqual(d.actions.map((a) => a.action), ['memslot', 'memslot', 'dontneed']);
  // Slot 1, then slot 2 created (one swap) and deleted (two).
  t.deepEqual(d.generation!.swaps, [4]);
  t.is(d.memory!.residentBytes, 0, 'the dontneed dropped every page');
  const table = vmTable(d);
  t.regex(table, /memory-fault 16/);
  t.true(table.split('\n').every((l) => l.length <= 120), table);
});

test('a step that fails while running still destroys its vCPUs and closes its VM', async (t) => {
  const dir = tempDir();
  const file = writeFiles(dir, {
    's.yaml': yaml(
      'name: fails', 'description: a timeline action the engine refuses', 'steps:',
      '  - kind: vm',
      '    regions: [{ name: ram, size: 4M }]',
      '    memslots: [{ slot: 1, gpa: 0, size: 4M, region: ram }]',
      '    vcpus: [{ guest: memstress, count: 2, args: { slot: 1 } }]',
      '    timeline: [{ action: memslot, at: 0.1, slot: 2, gpa: 1M, size: 4K, region: ram }]',
      '    duration: 1'),
  });
  const e = await t.throwsAsync(async () => runScenario(await loadScenario(file), { progress: quiet }));
  t.regex(e!.message, /s\.yaml:8:16: steps\[0\]\.timeline\[0\]: at [\d.]+ s: EEXIST/);
  // Nothing is left running: the vCPU threads were destroyed, so this test's worker can end.
  t.pass();
});

function tempDirIn(dir: string, name: string): string {
  const path = `${dir}/${name}`;
  mkdirSync(path, { recursive: true });
  return path;
}
