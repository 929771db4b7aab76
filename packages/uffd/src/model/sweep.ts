/** Sweeps of the model over vCPU counts and paths, each point a task on a piscina pool (one worker per CPU). */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { DemandPagingOptions } from '../options.js';
import type { ModelOptions, ModelResult } from './model.js';

/** One simulated configuration. */
export type SweepPoint = Partial<DemandPagingOptions> & ModelOptions;

/** A pool of model workers that runs sweep after sweep (the fit runs hundreds: one pool for all). */
export class ModelPool {
  private readonly pool = new Piscina({
    filename: new URL('./model-worker.js', import.meta.url).href,
    minThreads: 1, maxThreads: Math.max(1, availableParallelism()), idleTimeout: 1000,
  });

  /** Simulates every point in parallel; results in the points' order. */
  async sweep(points: readonly SweepPoint[], progress?: (done: number, total: number, r: ModelResult) => void): Promise<ModelResult[]> {
    let done = 0;
    // The largest points first, so that the pool does not end on one long task.
    const order = points.map((p, i) => i).sort((a, b) => (points[b].vcpus ?? 1) - (points[a].vcpus ?? 1));
    const out = new Array<ModelResult>(points.length);
    await Promise.all(order.map(async (i) => {
      out[i] = (await this.pool.run(points[i])) as ModelResult;
      progress?.(++done, points.length, out[i]);
    }));
    return out;
  }

  /** Stops the workers. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

/** Simulates every point in parallel on a pool of its own; results in the points' order. */
export async function modelSweep(points: readonly SweepPoint[], progress?: (done: number, total: number, r: ModelResult) => void): Promise<ModelResult[]> {
  const pool = new ModelPool();
  try {
    return await pool.sweep(points, progress);
  } finally {
    await pool.destroy();
  }
}
