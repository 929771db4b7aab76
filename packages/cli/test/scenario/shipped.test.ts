/**
 * Each shipped scenario runs at a small size through the real runner (`--set` overrides, as people
 * shrink them) and its sections hold plausible figures, not just something.
 */
import test from 'ava';
import { join } from 'node:path';
import type { DemandPagingRow, PciHoleResult } from '@vcpu-rt/cli';
import type { ModelResult } from '@vcpu-rt/uffd';
import { loadScenario, runScenario, type VmSectionData } from '#internal/scenario/index.js';
import type { ResultDocument } from '#internal/result/document.js';
import { SCENARIOS } from './helpers.js';

const quiet = { step() {}, note() {}, stop() {} };

async function run(name: string, overrides: string[]): Promise<ResultDocument> {
  const loaded = await loadScenario(join(SCENARIOS, name), { overrides });
  return runScenario(loaded, { progress: quiet });
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

test.serial('postcopy-contention: both paths at each vCPU count, every page verified; the model at each count', async (t) => {
  const doc = await run('postcopy-contention.yaml', [
    'steps[0].bytesPerVcpu=1M', 'steps[0].vcpus=[1,2]', 'steps[0].repeat=1', 'steps[0].warmupPages=64',
    'steps[1].vcpus=[1,8]', 'steps[1].simPages=64',
  ]);
  t.deepEqual(doc.sections.map((s) => s.kind), ['bench-demand-paging', 'model-demand-paging']);
  const real = (doc.sections[0].data as { results: DemandPagingRow[]; published: { rows: unknown[] } });
  t.deepEqual(real.results.map((r) => `${r.path}/${r.vcpus}`).sort(), ['exit/1', 'exit/2', 'uffd/1', 'uffd/2']);
  for (const r of real.results) {
    t.is(r.pages, r.vcpus * 256, `${r.path}/${r.vcpus}: 1 MiB per vCPU`);
    t.true(r.verify.pages >= r.pages && r.verify.badPages === 0 && r.verify.wrongWords === 0, JSON.stringify(r.verify));
    t.true(r.overallRate > 0);
    if (r.path === 'exit') t.true(r.exits.memoryFaults >= r.pages);
  }
  t.true(real.published.rows.length > 0, 'table A rides along');
  const model = doc.sections[1].data as { results: ModelResult[] };
  t.deepEqual(model.results.map((r) => `${r.path}/${r.options.vcpus}`).sort(), ['exit/1', 'exit/8', 'uffd/1', 'uffd/8']);
  for (const r of model.results) t.true(r.overallRate > 0 && r.model.simPages === 64);
  t.is(doc.scenario?.name, 'postcopy-contention');
  t.true(doc.sections[0].command!.startsWith('vcpu-rt bench demand-paging -v 1,2 -b 1M -u MINOR -a'));
});

test.serial('pci-hole-boot: 8193 hole accesses under each strategy; the own VM scans with and without a PCI_HOLE slot', async (t) => {
  const doc = await run('pci-hole-boot.yaml', [
    'steps[0].strategy=[mmio-exit, pci-hole]', 'steps[0].vmm=[vcpu-thread, main-thread]', 'steps[0].repeat=1',
    'steps[1].vcpus[0].args.rounds=1', 'steps[1].duration=0.5', 'steps[2].vcpus[0].args.rounds=1', 'steps[2].duration=2',
  ]);
  t.deepEqual(doc.sections.map((s) => s.kind), ['bench-pci-hole', 'vm', 'vm']);
  const bench = doc.sections[0].data as { results: PciHoleResult[]; otherPlacements: PciHoleResult[] };
  const rows = [...bench.results, ...bench.otherPlacements];
  t.is(rows.length, 4);
  for (const r of rows) t.is(r.holeAccesses, 8193, `${r.strategy}/${r.vmm}`);
  // With the scenario's one stray write per scan: mmio-exit exits for every access and the write; pci-hole only for the few present functions and the write.
  for (const r of rows) t.true(r.strategy === 'mmio-exit' ? r.exits === r.accesses + 1 : r.exits < 100, `${r.strategy}/${r.vmm}: ${r.exits} exits, ${r.accesses} accesses`);
  const [hole, none] = [doc.sections[1].data, doc.sections[2].data] as VmSectionData[];
  // No devices behind either: every one of the scan's 8192 reads is a hole.
  for (const d of [hole, none]) {
    t.true(d.vcpus[0].finished, 'the scan finished');
    t.deepEqual(d.vcpus[0].values, [8192, 0, 8192]);
  }
  t.false('mmio-read' in hole.vcpus[0].exits!, 'KVM answered every read of the PCI_HOLE slot');
  t.true(hole.vcpus[0].stats!.pciHoleEmulated > 0);
  t.is(none.vcpus[0].exits!['mmio-read'], 8192, 'every read exited to the VMM');
});

test.serial('memslot-churn: on both designs the churn ran, the generation counts every swap, the guests kept accessing', async (t) => {
  const doc = await run('memslot-churn.yaml', [
    'steps[0].memslots[1].count=200', 'steps[0].duration=0.8', 'steps[0].timeline[0].from=0.2', 'steps[0].timeline[0].until=0.6',
  ]);
  t.deepEqual(doc.sections.map((s) => (s.data as VmSectionData).design), ['tree', 'array']);
  for (const s of doc.sections) {
    const d = s.data as VmSectionData;
    const c = d.churn!;
    t.true(c.ops >= 20, `${d.design}: ${c.ops} churn ops`);
    t.is(c.byOp.create + c.byOp.move + c.byOp.delete, c.ops);
    // CREATE swaps once, MOVE and DELETE twice; the 201 set-up slots were created once each.
    t.is(d.config.memslots, 201);
    t.is(d.generation!.swaps[0], 201 + c.byOp.create + 2 * (c.byOp.move + c.byOp.delete));
    t.is(sum(d.series.map((r) => r.churnOps!)), c.ops);
    t.true(d.series.at(-1)!.generation! > d.series[0].generation!, 'the generation grew over the run');
    t.is(d.vcpus.length, 2);
    for (const v of d.vcpus) t.true(v.accesses! > 0 && v.accessesPerSecond! > 0, `${d.design}: vCPU ${v.id} accessed memory`);
    t.true(sum(d.series.map((r) => r.accessesPerSecond!)) > 0);
    t.is(d.vcpuSeries.length, 2 * d.series.length);
  }
});

test.serial('precopy-dirty-log: each round finds dirty pages, never more than the writer writes', async (t) => {
  const doc = await run('precopy-dirty-log.yaml', ['steps[0].duration=0.8']);
  const d = doc.sections[0].data as VmSectionData;
  const rounds = d.dirtyRounds!;
  t.true(rounds.length >= 3, `${rounds.length} rounds`);
  const writerPages = 4096;
  t.true(rounds.every((r) => r.dirtyPages <= writerPages && r.slotPages === 16384), JSON.stringify(rounds.map((r) => r.dirtyPages)));
  t.true(rounds.some((r) => r.dirtyPages > 0));
  t.true(rounds.every((r) => r.clearUs > 0), 'manual protection: every round cleared');
  const writer = d.vcpus.find((v) => v.id === 0)!;
  const reader = d.vcpus.find((v) => v.id === 1)!;
  t.true(writer.accesses! > 0 && reader.accesses! > 0);
  // A page is dirty only after a write to it since the last round.
  t.true(sum(rounds.map((r) => r.dirtyPages)) <= writer.accesses! + writerPages);
  t.true(d.mmu!.writeProtected > 0, 'the clears write-protected the pages again');
});
