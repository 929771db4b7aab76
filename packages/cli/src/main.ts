#!/usr/bin/env node
/** vcpu-rt: the command line. It parses, runs and reports; the engine lives in the other packages. */
import { Command, InvalidArgumentError } from 'commander';
import { KVM_USER_MEM_SLOTS, type MemslotImpl } from '@vcpu-rt/core';
import { benchMemslots, DEFAULT_SLOTS } from './bench/memslots.js';
import { memslotTable } from './bench/memslots-report.js';
import { machineInfo } from './bench/stats.js';
import { benchPciHole, VMM_PLACEMENTS, type VmmPlacement } from './bench/pci-hole.js';
import { pciHoleTable } from './bench/pci-hole-report.js';
import { benchVcpu } from './bench/vcpu.js';
import { vcpuTable } from './bench/vcpu-report.js';
import { HANDOFF_POLL_NS_DEFAULT, PCI_HOLE_STRATEGIES, type PciHoleStrategy } from '@vcpu-rt/vcpu';

function intList(name: string, min: number, max: number) {
  return (value: string): number[] => {
    const out = value.split(',').map((v) => Number(v.trim()));
    for (const n of out) {
      if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name}: each value must be an integer in [${min}, ${max}] (got '${value}')`);
    }
    return out;
  };
}

function implList(value: string): MemslotImpl[] {
  const out = value.split(',').map((v) => v.trim());
  for (const v of out) if (v !== 'tree' && v !== 'array') throw new InvalidArgumentError(`--impl: each value must be 'tree' or 'array' (got '${v}')`);
  return out as MemslotImpl[];
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer (got '${value}')`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new InvalidArgumentError(`${name} must be an integer in [0, 2^31 - 1] (got '${value}')`);
    return n;
  };
}

const program = new Command('vcpu-rt').description('A vCPU runtime modelling the KVM guest-memory subsystem').showHelpAfterError();
const bench = program.command('bench').description('Benchmarks that print our figures beside the published ones');

bench.command('memslots')
  .description('memslot_perf_test operations on the tree (5.17+) and array (pre-5.17) memslots, in one run')
  .option('--slots <list>', 'slot counts', intList('--slots', 1, KVM_USER_MEM_SLOTS - 1), DEFAULT_SLOTS)
  .option('--impl <list>', 'memslot designs: tree,array', implList, ['tree', 'array'] as MemslotImpl[])
  .option('--repeat <n>', 'repeats of each measurement (the median is reported)', positiveInt('--repeat'), 3)
  .option('--move-seconds <s>', 'wall time of each move repeat', Number, 0.3)
  .option('--json', 'print one JSON document instead of the table')
  .action(async (o: { slots: number[]; impl: MemslotImpl[]; repeat: number; moveSeconds: number; json?: boolean }) => {
    const machine = machineInfo();
    const results = await benchMemslots({
      slots: o.slots, impls: o.impl, repeats: o.repeat, moveSeconds: o.moveSeconds,
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    if (o.json) process.stdout.write(`${JSON.stringify({ bench: 'memslots', machine, results }, null, 2)}\n`);
    else process.stdout.write(`${memslotTable(results, machine)}\n`);
  });

function listOf<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const out = value.split(',').map((v) => v.trim());
    for (const v of out) if (!allowed.includes(v as T)) throw new InvalidArgumentError(`${name}: each value must be one of ${allowed.join(', ')} (got '${v}')`);
    return out as T[];
  };
}

bench.command('pci-hole')
  .description('the pci-scan guest boots a q35-like machine under each PCI-hole strategy of seeds 000/001/003, in one run')
  .option('--strategy <list>', 'strategies', listOf<PciHoleStrategy>('--strategy', PCI_HOLE_STRATEGIES), [...PCI_HOLE_STRATEGIES])
  .option('--vmm <list>', `where userspace handles exits: ${VMM_PLACEMENTS.join(',')}`, listOf<VmmPlacement>('--vmm', VMM_PLACEMENTS), [...VMM_PLACEMENTS])
  .option('--repeat <n>', 'scans after the first (the median is reported)', positiveInt('--repeat'), 7)
  .option('--stray-writes <n>', 'writes to absent functions after each scan', nonNegativeInt('--stray-writes'), 0)
  .option('--run-poll-ns <ns>', 'largest KVM_RUN handoff poll window of the main-thread placement (KVM\'s halt_poll_ns)', nonNegativeInt('--run-poll-ns'), HANDOFF_POLL_NS_DEFAULT)
  .option('--json', 'print one JSON document instead of the table')
  .action(async (o: { strategy: PciHoleStrategy[]; vmm: VmmPlacement[]; repeat: number; strayWrites: number; runPollNs: number; json?: boolean }) => {
    const machine = machineInfo();
    const results = await benchPciHole({
      strategies: o.strategy, vmm: o.vmm, repeats: o.repeat, strayWrites: o.strayWrites, runPollNs: o.runPollNs,
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    // API.md: one row per strategy in `results` (the first placement asked for); the others apart.
    const primary = o.vmm[0];
    const doc = {
      bench: 'pci-hole', machine, vmm: primary, results: results.filter((r) => r.vmm === primary),
      otherPlacements: results.filter((r) => r.vmm !== primary),
    };
    if (o.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${pciHoleTable(results, machine)}\n`);
  });

bench.command('vcpu')
  .description('the guest-access hit path: one vCPU, and two on disjoint memory')
  .option('--repeat <n>', 'timed rounds (the median is reported)', positiveInt('--repeat'), 9)
  .option('--json', 'print one JSON document instead of the table')
  .action(async (o: { repeat: number; json?: boolean }) => {
    const machine = machineInfo();
    const results = await benchVcpu(o.repeat);
    if (o.json) process.stdout.write(`${JSON.stringify({ bench: 'vcpu', machine, results }, null, 2)}\n`);
    else process.stdout.write(`${vcpuTable(results, machine)}\n`);
  });

await program.parseAsync(process.argv);
