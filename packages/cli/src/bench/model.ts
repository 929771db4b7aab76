/**
 * `vcpu-rt bench model`: how fast the discrete-event model runs — events per second of one
 * simulation in this thread (median of repeats), and table A's whole sweep (9 vCPU counts, both
 * paths) on the piscina pool.
 */
import { modelDemandPaging, modelSweep, PUBLISHED_COSTS } from '@vcpu-rt/uffd';
import { TABLE_A } from './published-postcopy.js';
import { summarize } from './stats.js';

/** What the benchmark measured. */
export interface ModelBenchResult {
  /** Events per second of one 64-vCPU uffd-path simulation in one thread: median [min, max] of the repeats. */
  eventsPerSecond: { median: number; min: number; max: number; repeats: number };
  /** Table A's sweep on the pool: wall seconds, points, events. */
  tableASweep: { seconds: number; points: number; events: number };
}

const TABLE_A_CONFIG = { cpus: 256, costs: PUBLISHED_COSTS, mode: 'minor', singleUffd: true, readers: 'per-vcpu', bytesPerVcpu: 64 << 20 } as const;

/** Runs both measurements; `progress` hears each timed simulation and each point of the sweep. */
export async function benchModel(repeats: number, progress?: (line: string, done: number, total: number) => void): Promise<ModelBenchResult> {
  modelDemandPaging({ ...TABLE_A_CONFIG, vcpus: 64, simPages: 256 }); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const res = modelDemandPaging({ ...TABLE_A_CONFIG, vcpus: 64, simPages: 1024 });
    rates.push(res.model.events / res.model.simSeconds);
    progress?.(`one thread: ${(rates[r] / 1e6).toFixed(2)} M events/s`, r + 1, repeats + 2 * TABLE_A.length);
  }
  const points = TABLE_A.flatMap((a) => [false, true].map((exits) => ({ ...TABLE_A_CONFIG, vcpus: a.vcpus, exits, simPages: 2048 })));
  const t0 = performance.now();
  const results = await modelSweep(points, (done, total, x) => progress?.(`sweep: ${x.path} path, ${x.options.vcpus} vCPUs`, repeats + done, repeats + total));
  const seconds = (performance.now() - t0) / 1000;
  const s = summarize(rates);
  return { eventsPerSecond: { median: s.median, min: s.min, max: s.max, repeats: s.repeats }, tableASweep: { seconds, points: points.length, events: results.reduce((n, x) => n + x.model.events, 0) } };
}
