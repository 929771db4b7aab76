#!/usr/bin/env node
/** vcpu-rt: the command line. It parses, runs and reports; the engine lives in the other packages. */
import { Command, InvalidArgumentError } from 'commander';
import { KVM_USER_MEM_SLOTS, type MemslotImpl } from '@vcpu-rt/core';
import { benchMemslots, DEFAULT_SLOTS } from './bench/memslots.js';
import { memslotTable } from './bench/memslots-report.js';
import { machineInfo } from './bench/stats.js';

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

await program.parseAsync(process.argv);
