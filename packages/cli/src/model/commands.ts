/**
 * `vcpu-rt model fit` (the table-A fit of the published profile, re-run and compared with the
 * committed numbers) and `vcpu-rt model configurations` (the configurations no study measured,
 * with the published profile unchanged).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { fitTableA, ModelPool, modelConfigurations, PUBLISHED_COSTS, PUBLISHED_FIT } from '@vcpu-rt/uffd';
import { commandProgress } from '../commands/bench-output.js';
import { configurationsTable, fitReport } from './fit-report.js';

function count(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}] (got '${value}')`);
    return n;
  };
}

function counts(name: string, min: number, max: number) {
  return (value: string): number[] => {
    const out = value.split(',').map((v) => Number(v.trim()));
    for (const n of out) if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name}: each value must be an integer in [${min}, ${max}] (got '${value}')`);
    if (new Set(out).size !== out.length) throw new InvalidArgumentError(`${name}: a value is repeated (got '${value}')`);
    return [...out].sort((a, b) => a - b);
  };
}

/** Adds `fit` and `configurations` to the `model` command. */
export function registerModelFitCommands(model: Command): void {
  model.command('fit')
    .description('re-run the table-A fit of the published profile (fit-table-a.ts, a few minutes) and compare it with the committed numbers')
    .option('--json', 'print one JSON document')
    .action(async (o: { json?: boolean }) => {
      const progress = commandProgress('fit');
      const fit = await fitTableA({ say: (line) => progress.note(line) });
      progress.stop();
      const fitted = { ...fit.exit, ...fit.uffd };
      const differ = Object.entries(PUBLISHED_FIT).filter(([k, v]) => fitted[k as keyof typeof fitted] !== v);
      process.stdout.write(o.json ? `${JSON.stringify({ fit, committed: PUBLISHED_FIT, matches: differ.length === 0 }, null, 2)}\n` : `${fitReport(fit, PUBLISHED_FIT)}\n`);
      if (differ.length) process.exitCode = 1;
    });

  model.command('configurations')
    .description('the configurations no study measured (sharded uffds, reader counts, exclusive wake-ups, the exit path) at fetch latencies 0, 30 and 200 µs, published costs unchanged, with where each turns from network- to contention-bound')
    .option('-v, --vcpus <list>', 'vCPU counts (each in [1, 512])', counts('--vcpus', 1, 512), [1, 2, 4, 8, 16, 32, 64, 128, 256])
    .option('--cpus <n>', 'processors the simulated threads share', count('--cpus', 1, 4096), 256)
    .option('--sim-pages <n>', 'pages each vCPU faults in the simulation (the rate is a steady state)', count('--sim-pages', 16, 65536), 256)
    .option('--json', 'print one JSON document')
    .action(async (o: { vcpus: number[]; cpus: number; simPages: number; json?: boolean }) => {
      const progress = commandProgress('configurations');
      const pool = new ModelPool();
      const t0 = performance.now();
      try {
        const r = await modelConfigurations(pool, PUBLISHED_COSTS, {
          vcpus: o.vcpus, cpus: o.cpus, simPages: o.simPages,
          progress: (done, total, x) => progress.step(`${x.path} path, ${x.options.vcpus} vCPUs, fetch ${x.options.fetchLatencyUs} µs: ${(x.overallRate / 1000).toFixed(1)}K pages/s`, done, total),
        });
        progress.stop();
        const seconds = (performance.now() - t0) / 1000;
        process.stdout.write(o.json ? `${JSON.stringify({ costs: PUBLISHED_COSTS.source, seconds, ...r }, null, 2)}\n` : `${configurationsTable(r, seconds)}\n`);
      } finally {
        await pool.destroy();
      }
    });
}
