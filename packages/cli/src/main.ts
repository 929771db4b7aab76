#!/usr/bin/env node
/** vcpu-rt: the command line. It parses, runs and reports; the engine lives in the other packages. */
import { Command, InvalidArgumentError } from 'commander';
import type { MemslotImpl } from '@vcpu-rt/core';
import { benchMemslots } from './bench/memslots.js';
import { memslotTable } from './bench/memslots-report.js';
import { machineInfo } from './bench/stats.js';
import { benchPciHole, VMM_PLACEMENTS, type VmmPlacement } from './bench/pci-hole.js';
import { pciHoleTable } from './bench/pci-hole-report.js';
import { benchVcpu } from './bench/vcpu.js';
import { vcpuTable } from './bench/vcpu-report.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { calibrateCosts, DEMAND_PAGING_DEFAULTS, MAX_GUEST_BYTES, modelSweep } from '@vcpu-rt/uffd';
import { loadCosts, MEASURED_COSTS_FILE } from './model/costs.js';
import { benchModel } from './bench/model.js';
import { modelTable, validateTable } from './model/model-report.js';
import { registerModelFitCommands } from './model/commands.js';
import { benchDemandPaging, PAGING_PATHS, type PagingPath } from './bench/demand-paging.js';
import { demandPagingTable } from './bench/demand-paging-report.js';
import { TABLE_A, TABLE_A_SOURCE } from './bench/published-postcopy.js';
import { HANDOFF_POLL_NS_DEFAULT, PCI_HOLE_STRATEGIES, type PciHoleStrategy } from '@vcpu-rt/vcpu';
import { PUBLISHED, PUBLISHED_SOURCE } from './bench/published.js';
import { PCI_HOLE_PUBLISHED, PCI_HOLE_PUBLISHED_SOURCE } from './bench/pci-hole-report.js';
import { commandProgress, emit, type OutputFlags } from './commands/bench-output.js';
import { addReportCommand } from './commands/report.js';
import { MEMSLOTS_BOUNDS, MODEL_BOUNDS, PAGING_BOUNDS, PCI_HOLE_BOUNDS, VCPU_BOUNDS } from './scenario/schema/bounds.js';
import { registerRunCommands } from './commands/run.js';

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

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new InvalidArgumentError(`${name} must be an integer in [0, 2^31 - 1] (got '${value}')`);
    return n;
  };
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const program = new Command('vcpu-rt').description('A vCPU runtime modelling the KVM guest-memory subsystem').version(version).showHelpAfterError();
const bench = program.command('bench').description('Benchmarks that print our figures beside the published ones');

bench.command('memslots')
  .description('memslot_perf_test operations on the tree (5.17+) and array (pre-5.17) memslots, in one run')
  .option('--slots <list>', 'slot counts', distinct('--slots', intList('--slots', MEMSLOTS_BOUNDS.slots.min, MEMSLOTS_BOUNDS.slots.max)), MEMSLOTS_BOUNDS.slots.default)
  .option('--impl <list>', 'memslot designs: tree,array', distinct('--impl', implList), ['tree', 'array'] as MemslotImpl[])
  .option('--repeat <n>', 'repeats of each measurement (the median is reported)', bounded('--repeat', MEMSLOTS_BOUNDS.repeat), MEMSLOTS_BOUNDS.repeat.default)
  .option('--move-seconds <s>', 'wall time of each move repeat, in (0, 60]', (v: string) => {
    const n = Number(v);
    const max = MEMSLOTS_BOUNDS.moveSeconds.max;
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`--move-seconds must be a number of seconds in (0, ${max}] (got '${v}')`);
    return n;
  }, MEMSLOTS_BOUNDS.moveSeconds.default)
  .option('--json', 'print one JSON document instead of the table')
  .option('--wide', 'the table with [min, max] and the units spelled out (wider than 120 columns)')
  .option('--out <dir>', 'also write result.json and report.html (charts beside the published figures) into <dir>')
  .action(async (o: OutputFlags & { slots: number[]; impl: MemslotImpl[]; repeat: number; moveSeconds: number; wide?: boolean }) => {
    const startedAt = new Date();
    const machine = machineInfo();
    const progress = commandProgress('memslots');
    const results = await benchMemslots({
      slots: o.slots, impls: o.impl, repeats: o.repeat, moveSeconds: o.moveSeconds,
      progress: (line, done, total) => progress.step(line, done, total),
    });
    progress.stop();
    const published = { source: PUBLISHED_SOURCE, before: 'array (pre-5.17)', after: 'tree (5.17+)', unit: 'seconds per iteration; move: per iteration of 2 moves', figures: PUBLISHED };
    await emit({
      kind: 'bench-memslots', title: 'Memslots: tree against array, beside seed 004', startedAt,
      data: { bench: 'memslots', machine, published, results }, table: () => memslotTable(results, machine, { wide: o.wide === true }),
    }, o);
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
  .option('--strategy <list>', 'strategies', distinct('--strategy', listOf<PciHoleStrategy>('--strategy', PCI_HOLE_STRATEGIES)), [...PCI_HOLE_STRATEGIES])
  .option('--vmm <list>', `where userspace handles exits: ${VMM_PLACEMENTS.join(',')}`, distinct('--vmm', listOf<VmmPlacement>('--vmm', VMM_PLACEMENTS)), [...VMM_PLACEMENTS])
  .option('--repeat <n>', 'scans after the first (the median is reported)', bounded('--repeat', PCI_HOLE_BOUNDS.repeat), PCI_HOLE_BOUNDS.repeat.default)
  .option('--stray-writes <n>', 'writes to absent functions after each scan', bounded('--stray-writes', PCI_HOLE_BOUNDS.strayWrites), PCI_HOLE_BOUNDS.strayWrites.default)
  .option('--run-poll-ns <ns>', 'largest KVM_RUN handoff poll window of the main-thread placement (KVM\'s halt_poll_ns)', nonNegativeInt('--run-poll-ns'), HANDOFF_POLL_NS_DEFAULT)
  .option('--json', 'print one JSON document instead of the table')
  .option('--wide', 'the table with the first scan and [min, max] too (wider than 120 columns)')
  .option('--out <dir>', 'also write result.json and report.html (charts beside the published figures) into <dir>')
  .action(async (o: OutputFlags & { strategy: PciHoleStrategy[]; vmm: VmmPlacement[]; repeat: number; strayWrites: number; runPollNs: number; wide?: boolean }) => {
    const startedAt = new Date();
    const machine = machineInfo();
    const progress = commandProgress('pci-hole');
    const results = await benchPciHole({
      strategies: o.strategy, vmm: o.vmm, repeats: o.repeat, strayWrites: o.strayWrites, runPollNs: o.runPollNs,
      progress: (line, done, total) => progress.step(line, done, total),
    });
    progress.stop();
    // docs/api.md: one row per strategy in `results` (the first placement asked for); the others apart.
    const primary = o.vmm[0];
    const doc = {
      bench: 'pci-hole', machine, vmm: primary, results: results.filter((r) => r.vmm === primary),
      otherPlacements: results.filter((r) => r.vmm !== primary),
      published: { source: PCI_HOLE_PUBLISHED_SOURCE, ...PCI_HOLE_PUBLISHED },
    };
    await emit({
      kind: 'bench-pci-hole', title: 'PCI holes: five strategies, beside seed 000', startedAt,
      data: doc, table: () => pciHoleTable(results, machine, { wide: o.wide === true }),
    }, o);
  });

bench.command('vcpu')
  .description('the guest-access hit path: one vCPU, and two on disjoint memory')
  .option('--repeat <n>', 'timed rounds (the median is reported)', bounded('--repeat', VCPU_BOUNDS.repeat), VCPU_BOUNDS.repeat.default)
  .option('--json', 'print one JSON document instead of the table')
  .option('--out <dir>', 'also write result.json and report.html (charts beside the published figures) into <dir>')
  .action(async (o: OutputFlags & { repeat: number }) => {
    const startedAt = new Date();
    const machine = machineInfo();
    const progress = commandProgress('vcpu');
    const results = await benchVcpu(o.repeat, (line, done, total) => progress.step(line, done, total));
    progress.stop();
    // No published figure exists for the hit path, so the document carries none.
    await emit({ kind: 'bench-vcpu', title: 'The guest-access hit path', startedAt, data: { bench: 'vcpu', machine, results }, table: () => vcpuTable(results, machine) }, o);
  });

/** A byte size: an integer with an optional K, M or G suffix (powers of 1024), page aligned. */
function byteSize(name: string, max: number) {
  return (value: string): number => {
    const m = /^(\d+)([KMG]?)$/i.exec(value.trim());
    const n = m ? Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase()) : NaN;
    if (!Number.isSafeInteger(n) || n < 4096 || n > max || n % 4096 !== 0) {
      throw new InvalidArgumentError(`${name} must be a multiple of 4096 bytes in [4K, ${Math.floor(max / 2 ** 20)}M], like 64M (got '${value}')`);
    }
    return n;
  };
}

/** boundedInt over one of the shared bounds (scenario/schema/bounds.ts: scenario steps accept the same). */
function bounded(name: string, b: { min: number; max: number }) {
  return boundedInt(name, b.min, b.max);
}

function boundedInt(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}] (got '${value}')`);
    return n;
  };
}

function readersOption(value: string): number | 'per-vcpu' {
  if (value === 'per-vcpu' || value === 'n') return 'per-vcpu';
  return bounded('--readers', PAGING_BOUNDS.readers)(value);
}

function distinct<T>(name: string, parse: (v: string) => T[]) {
  return (value: string): T[] => {
    const out = parse(value);
    if (new Set(out).size !== out.length) throw new InvalidArgumentError(`${name}: a value appears twice (got '${value}')`);
    return out;
  };
}

/** The cost profile `--costs` names; a missing or bad one ends the command with its message, no stack. */
function costsOrExit(name: string) {
  try {
    return loadCosts(name);
  } catch (e) {
    process.stderr.write(`vcpu-rt: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

/** demand_paging_test's flags, shared by `bench demand-paging` and `model demand-paging`. */
interface PagingFlags {
  vcpus: number[]; bytesPerVcpu: number; uffdMode: 'missing' | 'minor'; singleUffd: boolean; readers: number | 'per-vcpu'; delayUs: number;
  path: PagingPath[]; overlap: boolean; fetchLatencyUs: number; wake: 'all' | 'exclusive'; json?: boolean; out?: string;
}

function pagingOptions(cmd: Command, maxVcpus: number, defaultVcpus: number[]): Command {
  return cmd
    .option('-v, --vcpus <list>', `vCPU counts (each in [1, ${maxVcpus}]; more than the cpus is allowed and reported as oversubscribed)`, distinct('--vcpus', intList('--vcpus', 1, maxVcpus)), defaultVcpus)
    .option('-b, --bytes-per-vcpu <size>', 'guest memory per vCPU (K/M/G suffixes)', byteSize('--bytes-per-vcpu', MAX_GUEST_BYTES), DEMAND_PAGING_DEFAULTS.bytesPerVcpu)
    .option('-u, --uffd-mode <mode>', 'MISSING (anonymous memory, UFFDIO_COPY) or MINOR (memfd page cache, UFFDIO_CONTINUE)', (v: string) => {
      const m = v.toLowerCase();
      if (m !== 'missing' && m !== 'minor') throw new InvalidArgumentError(`--uffd-mode must be MISSING or MINOR (got '${v}')`);
      return m;
    }, DEMAND_PAGING_DEFAULTS.mode)
    .option('-a, --single-uffd', 'one uffd for all guest memory (the default, as table A)', true)
    .option('--no-single-uffd', 'one uffd per vCPU')
    .option('-r, --readers <n>', "reader threads per uffd, or 'per-vcpu' (table A's -r n)", readersOption, DEMAND_PAGING_DEFAULTS.readers)
    .option('-d, --delay-us <us>', 'µs each reader waits before serving a fault', bounded('--delay-us', PAGING_BOUNDS.delayUs), PAGING_BOUNDS.delayUs.default)
    .option('--path <list>', 'uffd,exit', distinct('--path', listOf<PagingPath>('--path', PAGING_PATHS)), [...PAGING_PATHS])
    .option('-o, --overlap', 'every vCPU touches the same memory (implies one uffd)', false)
    .option('--fetch-latency-us <us>', "the source's per-page fetch latency (a named, reported parameter)", bounded('--fetch-latency-us', PAGING_BOUNDS.fetchLatencyUs), PAGING_BOUNDS.fetchLatencyUs.default)
    .option('--wake <mode>', 'reader wake-ups on fd_wqh: all (today\'s kernel) or exclusive (Peter Xu\'s patch)', (v: string) => {
      if (v !== 'all' && v !== 'exclusive') throw new InvalidArgumentError(`--wake must be all or exclusive (got '${v}')`);
      return v;
    }, DEMAND_PAGING_DEFAULTS.wake)
    .option('--json', 'print one JSON document instead of the table')
    .option('--out <dir>', 'also write result.json and report.html (charts beside the published figures) into <dir>');
}

/** The DemandPagingOptions the flags say (all but vcpus and exits). */
function pagingConfig(o: PagingFlags) {
  return {
    bytesPerVcpu: o.bytesPerVcpu, mode: o.uffdMode, singleUffd: o.singleUffd, readers: o.readers, handlerDelayUs: o.delayUs,
    overlap: o.overlap, fetchLatencyUs: o.fetchLatencyUs, wake: o.wake,
  };
}

pagingOptions(bench.command('demand-paging'), PAGING_BOUNDS.vcpus.max, [...PAGING_BOUNDS.vcpus.default])
  .description('demand_paging_test in real threads: uffd wait queues against memory-fault exits (seed 002), in one run, beside table A')
  .option('--warmup-pages <n>', 'pages each vCPU faults before the measured pass (JIT warm-up)', bounded('--warmup-pages', PAGING_BOUNDS.warmupPages), PAGING_BOUNDS.warmupPages.default)
  .option('--repeat <n>', 'runs of each path and vCPU count (the median is reported)', bounded('--repeat', PAGING_BOUNDS.repeat), PAGING_BOUNDS.repeat.default)
  .action(async (o: PagingFlags & { warmupPages: number; repeat: number }) => {
    const startedAt = new Date();
    const machine = machineInfo();
    const progress = commandProgress('demand-paging');
    const results = await benchDemandPaging({
      ...pagingConfig(o), vcpus: o.vcpus, paths: o.path, repeats: o.repeat, warmupPages: o.warmupPages,
      progress: (line, done, total) => progress.step(line, done, total),
    });
    progress.stop();
    await emit({
      kind: 'bench-demand-paging', title: 'Demand paging: uffd against memory-fault exits, beside table A', startedAt,
      data: { bench: 'demand-paging', machine, published: { source: TABLE_A_SOURCE, rows: TABLE_A }, results }, table: () => demandPagingTable(results, machine),
    }, o);
  });

bench.command('model')
  .description('how fast the discrete-event model runs: events per second, and table A\'s sweep on the pool')
  .option('--repeat <n>', 'timed simulations (the median is reported)', boundedInt('--repeat', 1, 100), 5)
  .option('--json', 'print one JSON document')
  .option('--out <dir>', 'also write result.json and report.html (charts beside the published figures) into <dir>')
  .action(async (o: OutputFlags & { repeat: number }) => {
    const startedAt = new Date();
    const machine = machineInfo();
    const progress = commandProgress('model');
    const r = await benchModel(o.repeat, (line, done, total) => progress.step(line, done, total));
    progress.stop();
    const e = r.eventsPerSecond;
    await emit({
      kind: 'bench-model', title: 'How fast the discrete-event model runs', startedAt, data: { bench: 'model', machine, results: r },
      table: () => [
        `machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}`,
        `one simulation thread (64 vCPUs, uffd path, published costs): ${(e.median / 1e6).toFixed(2)} M events/s [${(e.min / 1e6).toFixed(2)}, ${(e.max / 1e6).toFixed(2)}], ${e.repeats} runs`,
        `table A's sweep (${r.tableASweep.points} points, ${(r.tableASweep.events / 1e6).toFixed(1)} M events) on the pool: ${r.tableASweep.seconds.toFixed(1)} s`,
      ].join('\n'),
    }, o);
  });

const model = program.command('model').description('The discrete-event model of uffd contention and memory-fault exits, for vCPU counts beyond the machine');

pagingOptions(model.command('demand-paging'), MODEL_BOUNDS.vcpus.max, [...MODEL_BOUNDS.vcpus.default])
  .description('simulate demand_paging_test: both paths per vCPU count, in parallel on a pool, beside table A')
  .option('--cpus <n>', 'processors the simulated threads share', bounded('--cpus', MODEL_BOUNDS.cpus), MODEL_BOUNDS.cpus.default)
  .option('--costs <profile>', `published (table A's host), measured (from 'model calibrate', ${MEASURED_COSTS_FILE}), or a JSON file`, 'published')
  .option('--sim-pages <n>', 'pages each vCPU faults in the simulation (the rate is a steady state)', bounded('--sim-pages', MODEL_BOUNDS.simPages), MODEL_BOUNDS.simPages.default)
  .action(async (o: PagingFlags & { cpus: number; costs: string; simPages: number }) => {
    const startedAt = new Date();
    const costs = costsOrExit(o.costs);
    const points = o.vcpus.flatMap((vcpus) => o.path.map((path) => ({ ...pagingConfig(o), vcpus, exits: path === 'exit', cpus: o.cpus, costs, simPages: o.simPages })));
    const progress = commandProgress('model');
    const t0 = performance.now();
    const results = await modelSweep(points, (done, total, r) => progress.step(`model ${r.path} path, ${r.options.vcpus} vCPUs: ${(r.overallRate / 1000).toFixed(1)}K pages/s (${r.model.events} events, ${r.model.simSeconds.toFixed(2)} s)`, done, total));
    progress.stop();
    const wall = (performance.now() - t0) / 1000;
    await emit({
      kind: 'model-demand-paging', title: 'The discrete-event model of demand paging, beside table A', startedAt,
      data: { model: 'demand-paging', machine: machineInfo(), costs, wallSeconds: wall, published: { source: TABLE_A_SOURCE, rows: TABLE_A }, results },
      table: () => modelTable(results, costs, wall),
    }, o);
  });

model.command('calibrate')
  .description('microbenchmark the real implementation on this machine and write a measured cost profile')
  .option('--out <file>', 'where to write the profile', MEASURED_COSTS_FILE)
  .option('--quick', 'fewer repeats (seconds instead of a minute)')
  .action(async (o: { out: string; quick?: boolean }) => {
    const progress = commandProgress('calibrate');
    const profile = await calibrateCosts({ quick: o.quick === true, progress: (line) => progress.note(line) });
    progress.stop();
    writeFileSync(o.out, `${JSON.stringify(profile, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(profile, null, 2)}\nwritten to ${o.out}\n`);
  });

pagingOptions(model.command('validate'), PAGING_BOUNDS.vcpus.max, [...PAGING_BOUNDS.vcpus.default])
  .description('run the real benchmark and the model (measured costs, this machine\'s cpus) on the same configurations, side by side')
  .option('--costs <profile>', 'measured (default) or a JSON file', 'measured')
  .option('--repeat <n>', 'runs of each real point (the median is compared)', bounded('--repeat', PAGING_BOUNDS.repeat), PAGING_BOUNDS.repeat.default)
  .option('--warmup-pages <n>', 'warm-up pages of the real runs', bounded('--warmup-pages', PAGING_BOUNDS.warmupPages), PAGING_BOUNDS.warmupPages.default)
  .action(async (o: PagingFlags & { costs: string; repeat: number; warmupPages: number }) => {
    const startedAt = new Date();
    const costs = costsOrExit(o.costs);
    const machine = machineInfo();
    // One bar over both phases: the real runs, then one model point per real row.
    const points = o.vcpus.length * o.path.length;
    const runs = points * o.repeat;
    const progress = commandProgress('validate');
    const real = await benchDemandPaging({
      ...pagingConfig(o), vcpus: o.vcpus, paths: o.path, repeats: o.repeat, warmupPages: o.warmupPages,
      progress: (line, done) => progress.step(`real: ${line}`, done, runs + points),
    });
    const modelled = await modelSweep(real.map((r) => ({ ...pagingConfig(o), vcpus: r.vcpus, exits: r.path === 'exit', cpus: machine.cpus, costs, simPages: 2048 })),
      (done, _total, r) => progress.step(`model: ${r.path} path, ${r.options.vcpus} vCPUs: ${(r.overallRate / 1000).toFixed(1)}K pages/s`, runs + done, runs + points));
    progress.stop();
    const rows = real.map((r, i) => ({ path: r.path, vcpus: r.vcpus, real: r.overall.median, min: r.overall.min, max: r.overall.max, model: modelled[i].overallRate, error: modelled[i].overallRate / r.overall.median - 1 }));
    const published = { source: 'none', reference: 'real', note: 'no published figures exist for this machine: the real runs in `rows` are the reference the model is compared with' };
    await emit({
      kind: 'model-validate', title: 'The model against real runs on this machine', startedAt,
      data: { validate: 'demand-paging', machine, costs, published, rows }, table: () => validateTable(rows, machine, costs),
    }, o);
  });

registerModelFitCommands(model);

addReportCommand(program);

registerRunCommands(program);

await program.parseAsync(process.argv);
