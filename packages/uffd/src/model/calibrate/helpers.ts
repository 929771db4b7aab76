/** The helper worker threads a calibration starts (worker.ts) and terminates. */
import { Worker } from 'node:worker_threads';
import type { CalibrateWorkerData } from './worker.js';

// --- helper threads ------------------------------------------------------------------------------

const workerUrl = new URL('./worker.js', import.meta.url);

/** Helper threads started by a calibration, all terminated at its end. */
export class Helpers {
  private readonly all: Worker[] = [];

  /** Starts a helper and resolves once its role has begun; `done` resolves with its result. */
  async start(data: CalibrateWorkerData): Promise<{ worker: Worker; done: Promise<unknown> }> {
    const worker = new Worker(workerUrl, { workerData: data });
    this.all.push(worker);
    let ready: () => void = () => {};
    let finished: (r: unknown) => void = () => {};
    let failed: (e: Error) => void = () => {};
    const started = new Promise<void>((resolve, reject) => { ready = resolve; failed = reject; });
    const done = new Promise<unknown>((resolve, reject) => {
      finished = resolve;
      const prev = failed;
      failed = (e) => { prev(e); reject(e); };
    });
    done.catch(() => {});
    started.catch(() => {});
    worker.on('message', (m: { ready?: boolean; done?: boolean; result?: unknown }) => {
      if (m.ready) ready();
      if (m.done) finished(m.result);
    });
    worker.once('error', (e) => failed(e instanceof Error ? e : new Error(String(e))));
    worker.once('exit', (code) => failed(new Error(`calibrate helper '${data.role}' exited (code ${code}) before it finished`)));
    await started;
    return { worker, done };
  }

  async terminateAll(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all.length = 0;
  }
}
