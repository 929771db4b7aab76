/**
 * Shared helpers of the userfaultfd tests (not a test file itself): VMs, uffds and faulting worker
 * threads that are all cleaned up when the test ends, and polling waits on shared state.
 */
import type { ExecutionContext } from 'ava';
import { Worker } from 'node:worker_threads';
import { Kvm, type HostMemory, type Userfaultfd, type UserfaultfdOptions, type Vm } from '@vcpu-rt/core';
import { CTL_WORDS, DONE, GO, STARTED, type FaulterData, type FaulterMsg, type FaulterOp } from '../fixtures/uffd-common.js';

export { P, patternByte, patternPage } from '../fixtures/uffd-common.js';
export type { FaulterOp } from '../fixtures/uffd-common.js';

const kvm = new Kvm();

/** A VM with 16 MiB of host memory, closed (awaited) when the test ends. */
export function newVm(t: ExecutionContext, hostMemoryBytes = 16 << 20): Vm {
  const vm = kvm.createVm({ hostMemoryBytes });
  t.teardown(() => vm.close());
  return vm;
}

/** userfaultfd(2) + UFFDIO_API(features) on `host`, closed when the test ends. */
export function newUffd(t: ExecutionContext, host: HostMemory, features = 0, options: UserfaultfdOptions = {}): Userfaultfd {
  const u = host.userfaultfd(options);
  t.teardown(() => u.close());
  u.api(features);
  return u;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 2 ms until it holds; rejects naming `what` after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

type OpResult = Extract<FaulterMsg, { type: 'op' }>;

/**
 * A worker thread (fixtures/uffd-faulter) that runs `ops` on its own view of the VM's host memory.
 * Gated ops start one at a time when go() allows them; started/done read the worker's counters
 * even while it is blocked in handle_userfault.
 */
export class Faulter {
  threadId = -1;
  private readonly results = new Map<number, OpResult>();
  private ended = false;
  private failure: Error | undefined;
  private listeners: Array<() => void> = [];

  private constructor(readonly worker: Worker, readonly ctl: Int32Array) {}

  /** Starts the worker and waits until it has attached the VM. */
  static async start(t: ExecutionContext, vm: Vm, ops: FaulterOp[], gated = true): Promise<Faulter> {
    const ctl = new SharedArrayBuffer(CTL_WORDS * 4);
    const data: FaulterData = { handle: vm.handle(), ctl, ops, gated };
    const w = new Worker(new URL('../fixtures/uffd-faulter.js', import.meta.url), { workerData: data });
    t.teardown(() => w.terminate());
    const f = new Faulter(w, new Int32Array(ctl));
    w.on('message', (m: FaulterMsg) => {
      if (m.type === 'ready') f.threadId = m.threadId;
      else if (m.type === 'op') f.results.set(m.i, m);
      else f.ended = true;
      f.notify();
    });
    w.on('error', (e: Error) => { f.failure = e; f.notify(); });
    w.on('exit', (code) => { if (!f.ended) f.failure ??= new Error(`faulter exited with code ${code}`); f.notify(); });
    await f.waitFor('the faulter to attach', () => f.threadId >= 0);
    return f;
  }

  private notify(): void {
    const l = this.listeners;
    this.listeners = [];
    for (const fn of l) fn();
  }

  private async waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (this.failure) throw this.failure;
      const left = timeoutMs - (Date.now() - t0);
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.listeners.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** Lets ops [0, n) start (default: the next one). */
  go(n = Atomics.load(this.ctl, GO) + 1): void {
    Atomics.store(this.ctl, GO, n);
    Atomics.notify(this.ctl, GO);
  }

  /** Ops begun. */
  get started(): number {
    return Atomics.load(this.ctl, STARTED);
  }

  /** Ops finished. */
  get done(): number {
    return Atomics.load(this.ctl, DONE);
  }

  /** The outcome of op `i`, once the worker has posted it. */
  async result(i: number, timeoutMs = 10_000): Promise<OpResult> {
    await this.waitFor(`op ${i} of faulter ${this.threadId}`, () => this.results.has(i), timeoutMs);
    return this.results.get(i)!;
  }

  /** Waits until the worker ran every op and detached. */
  async end(timeoutMs = 10_000): Promise<void> {
    await this.waitFor(`faulter ${this.threadId} to end`, () => this.ended, timeoutMs);
  }
}

/**
 * Lets `f` run its next op, which faults on `u`, and waits until the faulter sleeps in
 * handle_userfault: it queued its fault (stats().faults grew) and passed the re-check
 * (userfaultfd_must_wait), after which it wakes fd_wqh's readers under fd_wqh.lock. Queued is not
 * enough: a page resolved before the re-check is simply not waited for, DONTWAKE or not. Nothing
 * else may take fd_wqh.lock of `u` meanwhile (no read() or wait() on it).
 */
export async function blockOn(u: Userfaultfd, f: Faulter, what = 'the fault'): Promise<void> {
  const s = u.stats();
  f.go();
  await until(`${what} to block`, () => {
    const n = u.stats();
    return n.faults > s.faults && n.locks.fdWqh.acquisitions > s.locks.fdWqh.acquisitions;
  });
}

/** The outcome of op `i` of `f`, which must have succeeded. */
export async function ok(f: Faulter, i: number, timeoutMs?: number): Promise<Extract<OpResult, { ok: true }>> {
  const r = await f.result(i, timeoutMs);
  if (!r.ok) throw new Error(`op ${i} of faulter ${f.threadId} failed with ${r.code}: ${r.message}`);
  return r;
}

/**
 * Runs `fn` on the calling thread, which must not block in handle_userfault: if it does, the host's
 * onUserfaultWait hook (called every ~50 ms of the sleep) abandons the fault and this throws.
 */
export function noBlock<T>(host: HostMemory, fn: () => T): T {
  const prev = host.onUserfaultWait;
  host.onUserfaultWait = () => { throw new Error('the access blocked in handle_userfault'); };
  try {
    return fn();
  } finally {
    host.onUserfaultWait = prev;
  }
}
