/** Shared helpers of the @vcpu-rt/uffd tests (not a test file itself). */
import type { Worker } from 'node:worker_threads';
import type { ExecutionContext } from 'ava';
import type { Vcpu } from '@vcpu-rt/vcpu';
import { demandPaging, type DemandPagingOptions, type DemandPagingRun } from '@vcpu-rt/uffd';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** The threads of a run, as the `started` hook hands them over. */
export interface RunThreads {
  readers: readonly Worker[];
  vcpus: readonly Vcpu[];
}

/**
 * `warmupPages` (pages each vCPU faults through the same path before the measured pass; default
 * 4096) is off unless a test asks for it: memory stays small and every count is the measured pass's.
 */
export const NO_WARMUP: Partial<DemandPagingOptions> = { warmupPages: 0 };

/** Thrown by runWithin when a run did not finish in time (after the run's threads were torn down). */
export class HangError extends Error {}

/**
 * demandPaging with a watchdog: if the run has not settled after `ms`, its vCPUs are destroyed (so
 * that demandPaging's own cleanup runs and no thread outlives the test), and the call rejects with a HangError describing where the vCPUs were. Never hangs itself.
 * NO_WARMUP applies unless `options` says otherwise.
 */
export async function runWithin(options: Partial<DemandPagingOptions>, ms: number): Promise<DemandPagingRun> {
  let threads: RunThreads | undefined;
  const run = demandPaging({ ...NO_WARMUP, ...options }, { started: (th) => { threads = th; } });
  run.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    const r = await Promise.race([run, timeout]);
    if (r !== 'timeout') return r;
  } finally {
    clearTimeout(timer);
  }
  const where = threads
    ? `vCPU memory faults so far: [${threads.vcpus.map((v) => v.stats().memoryFaults).join(', ')}], ${threads.readers.length} readers`
    : 'the run never started its vCPUs';
  // Destroying the vCPUs makes their run() reject, so demandPaging's finally runs: it closes the uffds
  // and only then stops the readers. (Terminating a reader here instead could kill it while it holds a
  // uffd wait-queue lock, and close() would then block this thread for good: see reader-death.test.ts.)
  if (threads) await Promise.allSettled(threads.vcpus.map((v) => v.destroy()));
  // Let the run's finally block finish (it closes the uffds and the VM); bounded, in case it hangs too.
  await Promise.race([run.catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
  throw new HangError(`demandPaging(${JSON.stringify(options)}) did not finish within ${ms} ms (${where})`);
}

/** A one-line summary of a result for assertion messages. */
export function summary(r: DemandPagingRun): string {
  return JSON.stringify({
    pages: r.pages, seconds: r.seconds, verify: r.verify, exits: r.exits, readers: r.readers, fetch: r.fetch,
    uffd: { faults: r.uffd.faults, messages: r.uffd.messages, copies: r.uffd.copies, continues: r.uffd.continues, eexist: r.uffd.eexist, woken: r.uffd.wakes.woken },
  });
}

/** Sum of an array. */
export function sum(a: readonly number[]): number {
  return a.reduce((s, v) => s + v, 0);
}

/** Asserts the metrics every run must have, whatever its path. */
export function assertMetrics(t: ExecutionContext, r: DemandPagingRun, vcpus: number, accesses: number): void {
  const s = summary(r);
  t.true(r.seconds > 0, `seconds > 0: ${s}`);
  t.true(r.perVcpuRate > 0 && Number.isFinite(r.perVcpuRate), `perVcpuRate > 0 (${r.perVcpuRate})`);
  t.true(r.overallRate > 0 && Number.isFinite(r.overallRate), `overallRate > 0 (${r.overallRate})`);
  t.true(Math.abs(r.overallRate - r.perVcpuRate * vcpus) <= 1e-6 * r.overallRate, 'overall rate = per-vCPU rate × vCPUs, as the selftest prints it');
  t.is(sum(r.latency.dist), accesses, `latency.dist counts every access: ${JSON.stringify(r.latency.dist)}`);
  t.true(r.latency.avgUs > 0 && r.latency.p50Us <= r.latency.p99Us, `latency ${JSON.stringify(r.latency)}`);
  t.is(r.blocktime.perVcpuUs.length, vcpus, 'blocktime per vCPU');
  t.true(r.blocktime.perVcpuUs.every((u) => u >= 0), `blocktime per vCPU >= 0: ${JSON.stringify(r.blocktime)}`);
  // The time all vCPUs were blocked at once cannot exceed any one vCPU's blocked time.
  t.true(r.blocktime.totalUs >= 0 && r.blocktime.totalUs <= Math.min(...r.blocktime.perVcpuUs) + 1e-3, `blocktime total <= min per vCPU: ${JSON.stringify(r.blocktime)}`);
}
