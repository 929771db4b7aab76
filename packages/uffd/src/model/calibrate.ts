/**
 * calibrateCosts: a `measured` cost profile for this machine, from microbenchmarks of the real
 * implementation (@vcpu-rt/core's userfaultfd, host memory and vCPU MMU, run in this thread and in
 * helper worker threads: calibrate-worker.ts) and from two real 1-vCPU demand-paging runs, whose
 * p50 fault latencies are split into the fields that no microbenchmark isolates.
 *
 * Every figure is a median: of per-batch means over many iterations (batches of back-to-back calls,
 * µs per call) or of single timed calls (with the timer's own cost, measured, taken off), each after
 * a warm-up. Nothing is fitted to a target: the two fields derived from the real runs (exitUs,
 * faultRetryUs) are what those runs' p50 latencies leave once every directly measured component on
 * the same path is taken off, by the model's own accounting (see derive() below).
 *
 * The machine drifts (a shared VM): the microbenchmarks run in sessions spread between the real
 * runs and their samples are pooled, and the thread wake-up, which can be bimodal (a thread woken
 * on a CPU the host still polls, or on one it has descheduled), is measured by ping-pongs right
 * before and after each uffd run; derive() uses the mode the uffd runs were in.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  attachVm, HostMemory, Kvm, KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_MEM_ABSENT_MAPPING_FAULT,
  KVM_MEMFAULT_REASON_ABSENT_MAPPING, RET_PF_FIXED, RET_PF_MEMORY_FAULT, UFFD_MAX_WAITERS, UFFDIO_COPY_MODE_DONTWAKE,
  UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, VcpuMmu, type Userfaultfd, type Vm, type VmView,
} from '@vcpu-rt/core';
import { createVcpu, KvmRun, type KvmExit, type Vcpu } from '@vcpu-rt/vcpu';
import { demandPaging } from '../demand-paging.js';
import { postcopyExitHandler } from '../handler/exit-handler.js';
import { RUN_COUNTER_WORDS, type PostcopyLayout } from '../layout.js';
import { PAGE_SERVER_STAT_WORDS } from '../source/page-server.js';
import {
  CF, CONTROL_BYTES, CW, MAX_ROUNDS, NOTIFY_END, NOTIFY_START, NOTIFY_WOKEN, RESUMED, SPIN_LIMIT_MS, stamp, type CalibrateWorkerData, type PingPongResult,
} from './calibrate-worker.js';
import { checkCostProfile, COST_FIELDS, type CostProfile } from './costs.js';

/** Options of calibrateCosts. */
export interface CalibrateOptions {
  /** Fewer repeats and smaller runs: under ~10 s instead of under ~60 s. */
  quick?: boolean;
  /** Called with one line per measurement as it completes. */
  progress?: (line: string) => void;
}

const PAGE = 4096;
const GPA = 2 ** 30;
const GPA_PLAIN = 2 ** 31;
/** Waiter records the wait-queue benchmarks queue without threads: the top of the record array (threads claim from 0 up). */
const fakeRecord = (i: number): number => UFFD_MAX_WAITERS - 1 - i;
const MAX_FAKE = 512;
/** Addresses of the fake waiters' messages, and a range that matches none of them. */
const ADDR = 0x10_0000_0000;
const FAR = 0x08_0000_0000;

type UffdCtx = ReturnType<HostMemory['uffd']['ctx']>;

interface Config {
  quick: boolean;
  /** Repeats of each microbenchmark (the median is kept) and batches per repeat. */
  reps: number;
  batches: number;
  /** Pages of the benchmark VM's MINOR region (at least 1024: two page-table leaves for the shared-line count). */
  pages: number;
  /** Real runs of each path, and their sizes. */
  runs: number;
  exitBytes: number;
  uffdBytes: number;
  warmupPages: number;
  /** Single timed calls per point (walks over records written by another thread, wakes of real sleepers). */
  samples: number;
  /** Ping-pong turns per role, mode and repeat (even), and repeats. */
  turns: number;
  pingReps: number;
  /** Queue lengths of the walk benchmarks. */
  walkLengths: number[];
  remoteWalkLengths: number[];
}

const QUICK: Config = {
  quick: true, reps: 7, batches: 8, pages: 1024, runs: 1, exitBytes: 8 << 20, uffdBytes: 2 << 20, warmupPages: 4096,
  samples: 40, turns: 2000, pingReps: 3, walkLengths: [1, 16, 64, 256], remoteWalkLengths: [8, 64, 256],
};
const FULL: Config = {
  quick: false, reps: 21, batches: 16, pages: 2048, runs: 3, exitBytes: 16 << 20, uffdBytes: 4 << 20, warmupPages: 16384,
  samples: 150, turns: 8000, pingReps: 5, walkLengths: [1, 8, 32, 128, 512], remoteWalkLengths: [4, 16, 64, 256, 512],
};

// --- helpers -------------------------------------------------------------------------------------

const now = (): number => performance.now();

function median(a: readonly number[]): number {
  const s = a.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Samples by name, gathered over every session of a calibration (the machine's speed drifts: sessions are spread over the run). */
class Bins {
  private readonly m = new Map<string, number[]>();

  add(k: string, v: number): void {
    let a = this.m.get(k);
    if (!a) this.m.set(k, (a = []));
    a.push(v);
  }

  /** Calls `once` `warm` times (discarded) then `reps` times, keeping what it returned under `k`. */
  run(k: string, reps: number, once: () => number, warm = 2): void {
    for (let i = 0; i < warm; i++) once();
    for (let i = 0; i < reps; i++) this.add(k, once());
  }

  med(k: string): number {
    return median(this.m.get(k) ?? []);
  }

  count(k: string): number {
    return this.m.get(k)?.length ?? 0;
  }
}

/** Least squares y = intercept + slope · x. */
function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { slope, intercept: my - slope * mx };
}

/** Busy-waits until `pred` holds (the main thread's side of a hand-shake with a helper), bounded. */
function spinUntil(pred: () => boolean, what: string): void {
  const limit = now() + SPIN_LIMIT_MS;
  let n = 0;
  while (!pred()) {
    if ((++n & 1023) === 0 && now() > limit) throw new Error(`calibrate: timed out waiting for ${what}`);
  }
}

/** Busy-waits `us` µs. */
function spinUs(us: number): void {
  const until = now() + us / 1000;
  while (now() < until);
}

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const f3 = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3));

/** The cost of timing itself: two back-to-back performance.now() calls, µs. */
function timerOverheadUs(): number {
  const d: number[] = [];
  // The first passes warm the loop up; only the last 4001 pairs count.
  for (let i = -20000; i < 4001; i++) {
    const t0 = now();
    const t1 = now();
    if (i >= 0) d.push((t1 - t0) * 1000);
  }
  return median(d);
}

// --- helper threads ------------------------------------------------------------------------------

const workerUrl = new URL('./calibrate-worker.js', import.meta.url);

/** Helper threads started by a calibration, all terminated at its end. */
class Helpers {
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

// --- 1. the real runs ----------------------------------------------------------------------------

interface RealRuns {
  /** p50 access latency of the memory-fault-exit path and of the uffd path, 1 vCPU, µs. */
  exitP50: number;
  uffdP50: number;
  /** The guest's own work per page besides the access, µs (exit-path runs). */
  guestUs: number;
  exitRate: number;
  uffdRate: number;
  exitAvg: number;
  uffdAvg: number;
  /** Each uffd run's p50, in order. */
  uffdP50s: number[];
}

/**
 * demandPaging at 1 vCPU, MINOR (table A's mode), both paths alternating, `runs` times each: the
 * p50 latency of the measured accesses, and the guest's per-page work outside the access
 * (wall time per page minus the mean access latency: the memstress loop with its timing and check).
 * `before(i, guestUs)` runs between the exit run and the uffd run of each pair, `after(i)` after the pair.
 */
async function realRuns(
  cfg: Config, say: (s: string) => void, before: (i: number, guestUs: number) => Promise<void>, after: (i: number) => Promise<void>,
): Promise<RealRuns> {
  const ex: { p50: number; avg: number; page: number; rate: number }[] = [];
  const uf: { p50: number; avg: number; rate: number }[] = [];
  for (let i = 0; i < cfg.runs; i++) {
    const e = await demandPaging({ vcpus: 1, exits: true, mode: 'minor', bytesPerVcpu: cfg.exitBytes, warmupPages: cfg.warmupPages });
    if (e.verify.badPages !== 0 || e.verify.wrongWords !== 0) throw new Error('calibrate: the exit-path run read wrong pages');
    ex.push({ p50: e.latency.p50Us, avg: e.latency.avgUs, page: (e.seconds * 1e6) / e.pages, rate: e.overallRate });
    await before(i, median(ex.map((x) => x.page - x.avg)));
    const u = await demandPaging({ vcpus: 1, exits: false, readers: 1, mode: 'minor', bytesPerVcpu: cfg.uffdBytes, warmupPages: cfg.warmupPages });
    if (u.verify.badPages !== 0 || u.verify.wrongWords !== 0) throw new Error('calibrate: the uffd-path run read wrong pages');
    uf.push({ p50: u.latency.p50Us, avg: u.latency.avgUs, rate: u.overallRate });
    const faults = u.uffd.faults || 1;
    const l = u.uffd.locks;
    say(`real run ${i + 1}/${cfg.runs}: exit path p50 ${f3(e.latency.p50Us)} µs (${Math.round(e.overallRate / 1000)} K pages/s), ` +
      `uffd path p50 ${f3(u.latency.p50Us)} µs (${Math.round(u.overallRate / 1000)} K pages/s; contended acquisitions per fault: ` +
      `fd_wqh ${f3(l.fdWqh.contended / faults)}, fault_pending_wqh ${f3(l.faultPendingWqh.contended / faults)}, ` +
      `mean wait ${f3(l.fdWqh.waitUs / Math.max(1, l.fdWqh.contended))} / ${f3(l.faultPendingWqh.waitUs / Math.max(1, l.faultPendingWqh.contended))} µs)`);
    await after(i);
  }
  return {
    exitP50: median(ex.map((x) => x.p50)), uffdP50: median(uf.map((x) => x.p50)),
    guestUs: median(ex.map((x) => x.page - x.avg)),
    exitRate: median(ex.map((x) => x.rate)), uffdRate: median(uf.map((x) => x.rate)),
    exitAvg: median(ex.map((x) => x.avg)), uffdAvg: median(uf.map((x) => x.avg)), uffdP50s: uf.map((x) => x.p50),
  };
}

// --- 2. the benchmark VM -------------------------------------------------------------------------

/** A VM set up as a MINOR demand-paging run is: a memfd whose page cache is full, its guest mapping registered MINOR and in an ABSENT_MAPPING_FAULT slot. */
interface BenchVm {
  vm: Vm;
  uffd: Userfaultfd;
  ctx: UffdCtx;
  hva: number;
  pages: number;
  /** An anonymous mapping in an ordinary slot at GPA_PLAIN (the plain KVM fault). */
  anon: number;
  anonPages: number;
}

function benchVm(pages: number): BenchVm {
  const bytes = pages * PAGE;
  const anonPages = Math.min(1024, pages);
  const vm = new Kvm().createVm({ hostMemoryBytes: 2 * bytes + anonPages * PAGE + (16 << 20) });
  try {
    const fd = vm.host.memfdCreate(bytes);
    const hva = vm.host.mmap(bytes, { memfd: fd });
    const alias = vm.host.mmap(bytes, { memfd: fd });
    vm.host.madvise(alias, bytes, 'populate_write');
    const anon = vm.host.mmap(anonPages * PAGE);
    vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
    vm.setUserMemoryRegion({ slot: 1, flags: KVM_MEM_ABSENT_MAPPING_FAULT, guestPhysAddr: GPA, memorySize: bytes, userspaceAddr: hva });
    vm.setUserMemoryRegion({ slot: 2, flags: 0, guestPhysAddr: GPA_PLAIN, memorySize: anonPages * PAGE, userspaceAddr: anon });
    const uffd = vm.host.userfaultfd({ nonBlocking: true });
    uffd.api(0);
    uffd.register(hva, bytes, UFFDIO_REGISTER_MODE_MINOR);
    return { vm, uffd, ctx: vm.host.uffd.ctx(uffd.id), hva, pages, anon, anonPages };
  } catch (e) {
    void vm.close();
    throw e;
  }
}

interface WaitQueueCosts {
  enqueue: number;
  readOne: number;
  refile: number;
  /** wake() over B queued waiters, none in range: intercept and slope (records in this thread's cache). */
  walk: { intercept: number; slope: number; points: [number, number][] };
  /** wake() of one queued waiter in range (no thread asleep on it). */
  wakeMatched: number;
  /** wakeReaders() over K parked entries (no thread asleep on them): intercept and slope. */
  fdWake: { intercept: number; slope: number; points: [number, number][] };
  /** Atomics.notify of a word nobody waits on. */
  notifyIdle: number;
  /** Userfaultfd.wait(0) + read(1) with a message pending, and that minus readOne. */
  waitRead: number;
  readerSyscall: number;
}

const FD_ENTRIES = [0, 4, 16, 64];

/**
 * One session of the wait-queue operations of UffdCtx, on the benchmark VM's context, with waiter
 * records queued from this thread (no threads block): batches of back-to-back calls, µs per call.
 */
function waitQueueSession(b: BenchVm, cfg: Config, timer: number, bins: Bins): void {
  const { ctx, uffd } = b;
  const K = 64;
  const clear = (n: number): void => ctx.wake(ADDR, n * PAGE);
  const batched = (key: string, setup: (() => void) | undefined, body: () => void, cleanup: () => void): void => bins.run(key, cfg.reps, () => {
    let ms = 0;
    for (let j = 0; j < cfg.batches; j++) {
      setup?.();
      const t0 = now();
      body();
      ms += now() - t0;
      cleanup();
    }
    return (ms * 1000) / (cfg.batches * K);
  });
  const enqueueK = (): void => { for (let i = 0; i < K; i++) ctx.enqueue(fakeRecord(i), ADDR + i * PAGE, 0, 0); };

  // handle_userfault's enqueue: UffdCtx.enqueue (record fill, fault_pending_wqh.lock, __add_wait_queue, unlock, C_FAULTS).
  batched('enqueue', undefined, enqueueK, () => clear(K));
  // userfaultfd_ctx_read: UffdCtx.readOne (fd_wqh.lock → fault_pending_wqh.lock, oldest entry, refile under fault_wqh.lock).
  batched('readOne', enqueueK, () => { for (let i = 0; i < K; i++) ctx.readOne(false); }, () => clear(K));
  // The refile alone: fault_wqh.lock, add, unlock (the real WaitQueueHead calls readOne makes).
  const q = ctx.faultWqh;
  batched('refile', undefined, () => { for (let i = 0; i < K; i++) { q.lock(); q.add(fakeRecord(i)); q.unlock(); } }, () => clear(K));
  // __wake_userfault over B queued waiters, none in the woken range: every entry is visited.
  for (const B of cfg.walkLengths) {
    for (let i = 0; i < B; i++) ctx.enqueue(fakeRecord(i), ADDR + i * PAGE, 0, 0);
    const M = 64;
    bins.run(`walk:${B}`, cfg.reps, () => {
      const t0 = now();
      for (let j = 0; j < M; j++) ctx.wake(FAR, PAGE);
      return ((now() - t0) * 1000) / M;
    });
    clear(B);
  }
  // One waiter, in range: enqueue + wake pairs (the enqueue alone is taken off later).
  batched('pair', undefined, () => { for (let i = 0; i < K; i++) { ctx.enqueue(fakeRecord(0), ADDR, 0, 0); ctx.wake(ADDR, PAGE); } }, () => {});
  // wake_up_poll(&fd_wqh): wakeReaders over K parked (non-exclusive) entries, single timed calls.
  const fq = ctx.fdWqh;
  for (const n of FD_ENTRIES) {
    bins.run(`fd:${n}`, cfg.reps * 5, () => {
      for (let i = 0; i < n; i++) { fq.lock(); fq.add(fakeRecord(i)); fq.unlock(); }
      const t0 = now();
      ctx.wakeReaders();
      return (now() - t0) * 1000 - timer;
    });
  }
  const word = new Int32Array(new SharedArrayBuffer(64));
  bins.run('notifyIdle', cfg.reps, () => {
    const N = 1000;
    const t0 = now();
    for (let j = 0; j < N; j++) Atomics.notify(word, 0, 1);
    return ((now() - t0) * 1000) / N;
  });
  // A reader's per-message overhead outside the locks: poll returning at once, read(1) around readOne.
  batched('waitRead', enqueueK, () => { for (let i = 0; i < K; i++) { uffd.wait(0); uffd.read(1); } }, () => clear(K));
}

function waitQueueCosts(bins: Bins, cfg: Config, say: (s: string) => void): WaitQueueCosts {
  const enqueue = bins.med('enqueue');
  const readOne = bins.med('readOne');
  const refile = bins.med('refile');
  const points = cfg.walkLengths.map((B): [number, number] => [B, bins.med(`walk:${B}`)]);
  const walk = { ...fitLine(points.map((p) => p[0]), points.map((p) => p[1])), points };
  const wakeMatched = bins.med('pair') - enqueue;
  const fdPoints = FD_ENTRIES.map((n): [number, number] => [n, bins.med(`fd:${n}`)]);
  const fdWake = { ...fitLine(fdPoints.map((p) => p[0]), fdPoints.map((p) => p[1])), points: fdPoints };
  const notifyIdle = bins.med('notifyIdle');
  const waitRead = bins.med('waitRead');
  say(`wait queues (${bins.count('enqueue')} repeats): enqueue ${f3(enqueue)} µs, readOne ${f3(readOne)} µs (of which the refile under fault_wqh.lock ${f3(refile)} µs), ` +
    `wait(0) + read(1) with a message pending ${f3(waitRead)} µs`);
  say(`wake walk (records in this CPU's cache): ${points.map(([B, us]) => `B=${B}: ${f3(us)}`).join(', ')} µs → ${f3(walk.intercept)} µs + ${f3(walk.slope * 1000)} ns/waiter; ` +
    `one waiter in range: ${f3(wakeMatched)} µs`);
  say(`fd_wqh wake (entries with nobody asleep): ${fdPoints.map(([n, us]) => `K=${n}: ${f3(us)}`).join(', ')} µs → ${f3(fdWake.intercept)} µs + ${f3(fdWake.slope)} µs/entry; ` +
    `Atomics.notify with no waiter ${f3(notifyIdle)} µs`);
  return { enqueue, readOne, refile, walk, wakeMatched, fdWake, notifyIdle, waitRead, readerSyscall: waitRead - readOne };
}

interface FaultPathCosts {
  /** TLB miss, TDP walk miss and kvm_tdp_page_fault up to the ABSENT_MAPPING exit decision. */
  entryExit: number;
  /** HostMemory.faultIn answering VM_FAULT_USERFAULT (GUP meeting the registration). */
  faultInUserfault: number;
  /** userfaultfd_must_wait (HostMemory.userfaultfdMustWait). */
  mustWait: number;
  /** UFFDIO_CONTINUE + DONTWAKE of one page (page cache full). */
  continueCall: number;
  /** The fault again on a now-present page: spte installed (RET_PF_FIXED), TDP walk hit. */
  install: number;
  /** A plain fault on absent anonymous memory in an ordinary slot (frame allocated and zeroed, spte installed). */
  plainFault: number;
  /** claim: the CAS on a fresh word of the claim bitmap. */
  cas: number;
  /** An Atomics.add on a line this thread holds. */
  rmw: number;
  /** UFFDIO_COPY + DONTWAKE into fresh anonymous memory. */
  copy: number;
}

/**
 * One session of the vCPU fault path (VcpuMmu, in this thread), GUP's userfault answer, must_wait,
 * CONTINUE, the exit path's CAS, and COPY: per-page means over the benchmark VM's region.
 */
function faultPathSession(b: BenchVm, cfg: Config, bins: Bins): void {
  const { vm, uffd, hva, pages } = b;
  const requests = vm.shared.vcpus.claim(0);
  const mmu = new VcpuMmu(vm.shared, requests);
  const gfn0 = GPA / PAGE;
  const reset = (start: number, n: number): void => {
    // Outside guest mode, so that the MMU notifier's TLB-flush request does not wait for this thread.
    requests.exitGuest();
    vm.host.madvise(start, n * PAGE, 'dontneed');
    mmu.checkRequests();
  };
  let bad = 0;
  try {
    const per = (ms: number): number => (ms * 1000) / pages;
    for (let rep = 0; rep < cfg.reps + 2; rep++) {
      let t0 = now();
      for (let p = 0; p < pages; p++) if (vm.host.faultIn(hva + p * PAGE, 0) !== -2) bad++;
      const faultIn = per(now() - t0);
      t0 = now();
      for (let p = 0; p < pages; p++) {
        if (mmu.walk(gfn0 + p, false)) bad++;
        if (mmu.pageFault(GPA + p * PAGE, false) !== RET_PF_MEMORY_FAULT) bad++;
      }
      const entry = per(now() - t0);
      t0 = now();
      for (let p = 0; p < pages; p++) uffd.continue(hva + p * PAGE, PAGE, UFFDIO_COPY_MODE_DONTWAKE);
      const cont = per(now() - t0);
      t0 = now();
      for (let p = 0; p < pages; p++) {
        if (mmu.pageFault(GPA + p * PAGE, false) !== RET_PF_FIXED) bad++;
        if (!mmu.walk(gfn0 + p, false)) bad++;
      }
      const install = per(now() - t0);
      reset(hva, pages);
      if (rep < 2) continue;
      bins.add('faultIn', faultIn);
      bins.add('entry', entry);
      bins.add('cont', cont);
      bins.add('install', install);
    }

    // The plain KVM fault, no uffd: a frame is allocated (a recycled one is zeroed), the PTE and spte installed.
    const g2 = GPA_PLAIN / PAGE;
    bins.run('plain', cfg.reps, () => {
      const t0 = now();
      for (let p = 0; p < b.anonPages; p++) {
        mmu.walk(g2 + p, false);
        if (mmu.pageFault(GPA_PLAIN + p * PAGE, false) !== RET_PF_FIXED) bad++;
        mmu.walk(g2 + p, false);
      }
      const us = ((now() - t0) * 1000) / b.anonPages;
      reset(b.anon, b.anonPages);
      return us;
    });

    // userfaultfd_must_wait, after a faultIn that left handle_userfault's arguments (the page's PTE absent).
    vm.host.faultIn(hva, 0);
    const mustWait = (): boolean => vm.host['userfaultfdMustWait'](uffd.id);
    bins.run('mustWait', cfg.reps, () => {
      const N = 1000;
      let w = 0;
      const t0 = now();
      for (let j = 0; j < N; j++) if (mustWait()) w++;
      const us = ((now() - t0) * 1000) / N;
      if (w !== N) bad++;
      return us;
    });

    const claims = new Int32Array(new SharedArrayBuffer(pages * 4));
    bins.run('cas', cfg.reps, () => {
      claims.fill(0);
      const t0 = now();
      for (let p = 0; p < pages; p++) Atomics.compareExchange(claims, p, 0, 1);
      return ((now() - t0) * 1000) / pages;
    });
    const counter = new Int32Array(new SharedArrayBuffer(64));
    bins.run('rmw', cfg.reps, () => {
      const N = 10000;
      const t0 = now();
      for (let j = 0; j < N; j++) Atomics.add(counter, 0, 1);
      return ((now() - t0) * 1000) / N;
    });
  } finally {
    requests.release();
  }
  if (bad) throw new Error(`calibrate: the fault-path benchmark saw ${bad} unexpected answers`);

  // UFFDIO_COPY + DONTWAKE into fresh anonymous memory registered MISSING: a new address space each
  // repeat, as each MISSING run has (its frames are new, untouched memory).
  const src = new Uint8Array(new SharedArrayBuffer(pages * PAGE));
  for (let i = 0; i < src.length; i += 64) src[i] = i & 0xff;
  bins.run('copy', Math.max(3, cfg.reps >> 1), () => {
    const host = HostMemory.create({ physicalBytes: (pages + 64) * PAGE, maxPageTables: 64 });
    const u = host.userfaultfd({ nonBlocking: true });
    try {
      u.api(0);
      const dst = host.mmap(pages * PAGE);
      u.register(dst, pages * PAGE, UFFDIO_REGISTER_MODE_MISSING);
      const t0 = now();
      for (let p = 0; p < pages; p++) u.copy(dst + p * PAGE, src, UFFDIO_COPY_MODE_DONTWAKE, p * PAGE, PAGE);
      return ((now() - t0) * 1000) / pages;
    } finally {
      u.close();
      host.release();
    }
  }, 1);
}

function faultPathCosts(bins: Bins, say: (s: string) => void): FaultPathCosts {
  const out: FaultPathCosts = {
    entryExit: bins.med('entry'), faultInUserfault: bins.med('faultIn'), mustWait: bins.med('mustWait'), continueCall: bins.med('cont'),
    install: bins.med('install'), plainFault: bins.med('plain'), cas: bins.med('cas'), rmw: bins.med('rmw'), copy: bins.med('copy'),
  };
  say(`fault path (this thread, ${bins.count('entry')} repeats): to the exit decision ${f3(out.entryExit)} µs, faultIn → VM_FAULT_USERFAULT ${f3(out.faultInUserfault)} µs, ` +
    `must_wait ${f3(out.mustWait)} µs, CONTINUE+DONTWAKE ${f3(out.continueCall)} µs, COPY+DONTWAKE (fresh memory) ${f3(out.copy)} µs, refault + spte install ${f3(out.install)} µs, ` +
    `plain anonymous fault ${f3(out.plainFault)} µs; CAS ${f3(out.cas * 1000)} ns, Atomics.add ${f3(out.rmw * 1000)} ns`);
  return out;
}

// --- 3. the mm-wide lines a resolution writes ------------------------------------------------------

/** Every SharedArrayBuffer reachable from `root`, named by its path. */
function collectSabs(root: unknown, name: string, out: Map<SharedArrayBuffer, string>): void {
  if (root instanceof SharedArrayBuffer) {
    if (!out.has(root)) out.set(root, name);
    return;
  }
  if (ArrayBuffer.isView(root)) {
    if (root.buffer instanceof SharedArrayBuffer) collectSabs(root.buffer, name, out);
    return;
  }
  if (root !== null && typeof root === 'object') for (const [k, v] of Object.entries(root)) collectSabs(v, `${name}.${k}`, out);
}

/** The 64-byte lines of `sabs` that differ from `before` (copies taken with snapshotSabs). */
function changedLines(sabs: readonly [SharedArrayBuffer, string][], before: readonly Buffer[]): Set<string> {
  const out = new Set<string>();
  const CHUNK = 1 << 16;
  sabs.forEach(([sab, name], i) => {
    const old = before[i];
    for (let o = 0; o < sab.byteLength; o += CHUNK) {
      const len = Math.min(CHUNK, sab.byteLength - o);
      const cur = Buffer.from(sab, o, len);
      if (cur.equals(old.subarray(o, o + len))) continue;
      for (let l = 0; l < len; l += 64) {
        const n = Math.min(64, len - l);
        if (!cur.subarray(l, l + n).equals(old.subarray(o + l, o + l + n))) out.add(`${name} line ${(o + l) / 64}`);
      }
    }
  });
  return out;
}

const snapshotSabs = (sabs: readonly [SharedArrayBuffer, string][]): Buffer[] => sabs.map(([sab]) => Buffer.from(new Uint8Array(sab)));

/**
 * mmLines: the 64-byte lines of shared memory that every exit-path resolution writes whichever vCPU
 * and page it is. Two vCPUs (each its own attachVm view, VcpuMmu and postcopyExitHandler, the real
 * one) each resolve one page through the whole exit path (fault, exit decision, handler: claim,
 * fetch, CONTINUE + DONTWAKE, counters; refault and spte install), pages in different page-table
 * leaves; each resolution's written lines are found by comparing every buffer of the VM and the run
 * before and after it. Lines both wrote are the mm-wide ones (per-thread and per-page lines differ).
 */
function sharedLines(b: BenchVm, say: (s: string) => void): string[] {
  const { vm, uffd, hva, pages } = b;
  const layout: PostcopyLayout = {
    vm: vm.handle(), gpa: GPA, hva, pages, pagesPerUffd: pages, mode: 'minor', uffds: [uffd.handle()],
    // MINOR: the handler never reads the snapshot (CONTINUE maps the page cache's page).
    server: { snapshot: new SharedArrayBuffer(PAGE), stats: new SharedArrayBuffer(PAGE_SERVER_STAT_WORDS * 4), fetchLatencyUs: 0 },
    claims: new SharedArrayBuffer(pages * 4), counters: new SharedArrayBuffer(RUN_COUNTER_WORDS * 4),
  };
  const views: VmView[] = [];
  const releases: (() => void)[] = [];
  try {
    const vcpus = [1, 2].map((id) => {
      const view = attachVm(vm.handle());
      views.push(view);
      const requests = view.shared.vcpus.claim(id);
      releases.push(() => requests.release());
      const mmu = new VcpuMmu(view.shared, requests);
      const handler = postcopyExitHandler(layout, { vcpuId: id, vm: view, run: new KvmRun() }) as (e: KvmExit) => boolean;
      return { mmu, handler };
    });
    const resolve = (v: (typeof vcpus)[number], p: number): void => {
      const gpa = GPA + p * PAGE;
      v.mmu.walk(gpa / PAGE, false);
      if (v.mmu.pageFault(gpa, false) !== RET_PF_MEMORY_FAULT) throw new Error('calibrate: expected a memory-fault exit');
      const mf = v.mmu.memoryFault;
      if (!v.handler({ reason: KVM_EXIT_MEMORY_FAULT, memoryFault: { flags: mf.flags, gpa: mf.gpa, size: mf.size } })) throw new Error('calibrate: the exit handler declined the exit');
      if (v.mmu.pageFault(gpa, false) !== RET_PF_FIXED) throw new Error('calibrate: the refault did not install the spte');
      v.mmu.walk(gpa / PAGE, false);
    };
    const half = Math.floor(pages / 2);
    // First touches allocate page-table leaves (once per 2 MiB): done before the comparison.
    resolve(vcpus[0], 0);
    resolve(vcpus[1], half);
    const map = new Map<SharedArrayBuffer, string>();
    collectSabs(vm.handle(), 'vm', map);
    collectSabs({ claims: layout.claims, counters: layout.counters, pageServer: layout.server.stats }, 'run', map);
    const sabs = [...map.entries()];
    let before = snapshotSabs(sabs);
    resolve(vcpus[0], 1);
    const first = changedLines(sabs, before);
    before = snapshotSabs(sabs);
    resolve(vcpus[1], half + 1);
    const second = changedLines(sabs, before);
    const shared = [...first].filter((l) => second.has(l)).sort();
    say(`lines written by one exit-path resolution: ${first.size} and ${second.size}; by both (mm-wide): ${shared.length} (${shared.join(', ')})`);
    return shared;
  } finally {
    for (const r of releases) r();
    for (const v of views) v.detach();
    // Every page absent again for the other benchmarks.
    vm.host.madvise(hva, pages * PAGE, 'dontneed');
  }
}

// --- 4. measurements with helper threads ---------------------------------------------------------

/** One wake-up: from the notify to the woken thread running, the notifier's Atomics.notify call, how long the woken thread had slept; µs. */
interface WakeSample {
  wake: number;
  notify: number;
  idle: number;
}

/** The phases of one wake-up ping-pong (each: its rounds' samples) and the clock calibration. */
interface WakeupSamples {
  phases: WakeSample[][];
  offsetUs: [number, number];
  rttUs: [number, number];
}

/**
 * Wake-up latency with two helper threads that wake each other in the rhythm of a 1-vCPU uffd
 * run: role 0 (the vCPU) works `workUs[0]` µs, notifies role 1 and sleeps; role 1 (the reader)
 * runs, works `workUs[1]` µs, notifies role 0 and sleeps; and so on. Each stamps when its notify
 * began and when it ran again, on the common clock performance.timeOrigin + performance.now(),
 * corrected by the residual offset of each helper's clock from this thread's (from ping-pongs: the
 * one with the shortest round trip). A notify that woke nobody (the other was not asleep yet) is no
 * sample; the first `skip` rounds of each phase neither.
 */
async function wakeups(helpers: Helpers, phases: { rounds: number; workUs: [number, number]; skip: number }[]): Promise<WakeupSamples> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const f = new Float64Array(sab);
  const pings = 200;
  const roles = [0, 1] as const;
  const started = [];
  const spec = phases.map((p) => ({ rounds: p.rounds, workUs: p.workUs }));
  if (phases.reduce((n, p) => n + p.rounds, 0) > MAX_ROUNDS) throw new RangeError('calibrate: too many wake-up rounds');
  for (const me of roles) started.push(await helpers.start({ role: 'waker', sab, me, base: performance.timeOrigin, pings, phases: spec }));
  const offset: [number, number] = [0, 0];
  const rtt: [number, number] = [Infinity, Infinity];
  for (const me of roles) {
    for (let j = 1; j <= pings; j++) {
      const t1 = now();
      Atomics.store(c, CW.PING + 16 * me, j);
      spinUntil(() => Atomics.load(c, CW.PONG + 16 * me) === j, 'a clock pong');
      const t3 = now();
      if (t3 - t1 < rtt[me]) {
        rtt[me] = t3 - t1;
        offset[me] = f[CF.PONG_T + 8 * me] - (t1 + t3) / 2;
      }
    }
  }
  Atomics.store(c, CW.GO, 1);
  Atomics.notify(c, CW.GO);
  await Promise.all(started.map((x) => x.done));
  const out: WakeSample[][] = [];
  let k0 = 0;
  for (const phase of phases) {
    const samples: WakeSample[] = [];
    for (let k = k0 + phase.skip; k < k0 + phase.rounds; k++) {
      for (const me of roles) {
        const other = 1 - me;
        // `me` notified `other` in round k; `other` ran again at RESUMED[other][k].
        if (f[stamp(me, NOTIFY_WOKEN, k)] !== 1) continue;
        const start = f[stamp(me, NOTIFY_START, k)] - offset[me];
        // When `other` went to sleep: after its own notify (role 1's of the round before, role 0's of this round).
        const slept = other === 1 ? (k > 0 ? f[stamp(1, NOTIFY_END, k - 1)] : NaN) : f[stamp(0, NOTIFY_END, k)];
        samples.push({
          wake: (f[stamp(other, RESUMED, k)] - offset[other] - start) * 1000,
          notify: (f[stamp(me, NOTIFY_END, k)] - f[stamp(me, NOTIFY_START, k)]) * 1000,
          idle: (start - (slept - offset[other])) * 1000,
        });
      }
    }
    out.push(samples);
    k0 += phase.rounds;
  }
  return { phases: out, offsetUs: [offset[0] * 1000, offset[1] * 1000], rttUs: [rtt[0] * 1000, rtt[1] * 1000] };
}

/** A mode of the wake-up latency, µs. */
interface WakeMode {
  wakeup: number;
  notifySleeper: number;
  idleUs: number;
  /** Share of all wake-up samples in this mode. */
  share: number;
  samples: number;
}

/**
 * Splits wake-up samples into two modes when they have two (Otsu's threshold on log latency;
 * kept if the modes' medians differ by more than 3× and each holds at least 5% of the samples):
 * a thread the host wakes on a CPU it still polls, and one it has descheduled. Else one mode.
 */
function wakeModes(samples: readonly WakeSample[]): WakeMode[] {
  const s = samples.filter((x) => Number.isFinite(x.wake) && x.wake > 0).sort((a, b) => a.wake - b.wake);
  const mode = (part: readonly WakeSample[]): WakeMode => ({
    wakeup: median(part.map((x) => x.wake)), notifySleeper: median(part.map((x) => x.notify)), idleUs: median(part.map((x) => x.idle)),
    share: part.length / Math.max(1, s.length), samples: part.length,
  });
  const n = s.length;
  if (n < 20) return [mode(s)];
  const logs = s.map((x) => Math.log(x.wake));
  const prefix = [0];
  for (const l of logs) prefix.push(prefix[prefix.length - 1] + l);
  let best = -1;
  let split = 0;
  for (let i = 1; i < n; i++) {
    const m0 = prefix[i] / i;
    const m1 = (prefix[n] - prefix[i]) / (n - i);
    const between = i * (n - i) * (m0 - m1) ** 2;
    if (between > best) {
      best = between;
      split = i;
    }
  }
  const lo = mode(s.slice(0, split));
  const hi = mode(s.slice(split));
  if (hi.wakeup > 3 * lo.wakeup && lo.share >= 0.05 && hi.share >= 0.05) return [lo, hi];
  return [mode(s)];
}

/** Two helpers in turn: per role and repeat, (alternating − same-thread) medians; the median of those. */
async function pingpong(helpers: Helpers, cfg: Config, kind: 'mutex' | 'wq', extra: { host?: HostMemory; ctxs?: [number, number]; recs?: [number, number] }): Promise<{ handoff: number; same: number }> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const turns = cfg.turns & ~1;
  const base = { role: 'pingpong' as const, sab, kind, turns, reps: cfg.pingReps, host: extra.host?.handle(), ctxs: extra.ctxs, recs: extra.recs };
  const a = await helpers.start({ ...base, me: 0 });
  const b = await helpers.start({ ...base, me: 1 });
  Atomics.store(c, CW.GO, 1);
  const [r0, r1] = (await Promise.all([a.done, b.done])) as [PingPongResult, PingPongResult];
  const diffs: number[] = [];
  const same: number[] = [];
  for (let rep = 0; rep < cfg.pingReps; rep++) {
    // mutex: each role's lock/unlock; wq: role 0 queues (a), role 1 unlinks (b), as a faulter and a reader.
    diffs.push(r0.alt[rep].a - r0.same[rep].a);
    same.push(r0.same[rep].a);
    if (kind === 'mutex') {
      diffs.push(r1.alt[rep].a - r1.same[rep].a);
      same.push(r1.same[rep].a);
    } else {
      diffs.push(r1.alt[rep].b - r1.same[rep].b);
      same.push(r1.same[rep].b);
    }
  }
  return { handoff: median(diffs), same: median(same) };
}

/**
 * The wake walk with every record's line last written by another thread (a helper dequeues and
 * enqueues the B records again before each timed wake), as the kernel's walk meets the uwq entries
 * on other CPUs' stacks: single timed wake() calls over a range matching none, per B; the slope.
 */
async function remoteWalk(helpers: Helpers, b: BenchVm, cfg: Config, timer: number): Promise<{ slope: number; intercept: number; points: [number, number][] }> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const max = Math.max(...cfg.remoteWalkLengths);
  const records = Array.from({ length: max }, (_, i) => fakeRecord(i));
  const { done } = await helpers.start({ role: 'enqueuer', sab, host: b.vm.host.handle(), ctx: b.uffd.id, records, addrBase: ADDR });
  const points: [number, number][] = [];
  let j = 0;
  try {
    for (const B of cfg.remoteWalkLengths) {
      const us: number[] = [];
      for (let s = 0; s < Math.max(10, cfg.samples / 4) + 2; s++) {
        Atomics.store(c, CW.COUNT, B);
        Atomics.store(c, CW.REQ, ++j);
        Atomics.notify(c, CW.REQ);
        const limit = now() + SPIN_LIMIT_MS;
        while (Atomics.load(c, CW.ACK) !== j) {
          Atomics.wait(c, CW.ACK, j - 1, 5);
          if (now() > limit) throw new Error('calibrate: the enqueuer helper stopped answering');
        }
        const t0 = now();
        b.ctx.wake(FAR, PAGE);
        const t = (now() - t0) * 1000 - timer;
        if (s >= 2) us.push(t);
      }
      points.push([B, median(us)]);
    }
  } finally {
    Atomics.store(c, CW.STOP, 1);
    Atomics.notify(c, CW.REQ);
  }
  await done;
  b.ctx.wake(ADDR, max * PAGE);
  return { ...fitLine(points.map((p) => p[0]), points.map((p) => p[1])), points };
}

/** wakeReaders() with one real reader asleep in Userfaultfd.wait (pollWait), single timed calls. */
async function realReaderWake(helpers: Helpers, b: BenchVm, cfg: Config, idleUs: number, timer: number): Promise<number> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const c = new Int32Array(sab);
  const { done } = await helpers.start({ role: 'reader', sab, host: b.vm.host.handle(), uffd: b.uffd.handle() });
  const us: number[] = [];
  try {
    for (let s = 0; s < Math.max(10, cfg.samples / 3); s++) {
      const r = Atomics.load(c, CW.ROUNDS);
      spinUntil(() => b.ctx.fdWqh.count() === 1, 'the reader to park');
      spinUs(idleUs);
      const t0 = now();
      b.ctx.wakeReaders();
      const t = (now() - t0) * 1000 - timer;
      const limit = now() + SPIN_LIMIT_MS;
      while (Atomics.load(c, CW.ROUNDS) === r) {
        Atomics.wait(c, CW.ROUNDS, r, 5);
        if (now() > limit) throw new Error('calibrate: the reader helper stopped answering');
      }
      if (s >= 1) us.push(t);
    }
  } finally {
    Atomics.store(c, CW.STOP, 1);
  }
  for (let i = 0; i < 2000; i++) {
    b.ctx.wakeReaders();
    if (await Promise.race([done.then(() => true), sleepMs(1).then(() => false)])) break;
  }
  return median(us);
}

/** The wake walk with one real faulter asleep in handle_userfault on the page, single timed UFFDIO_WAKE walks (no resolution, so it faults again). */
async function realFaulterWake(helpers: Helpers, b: BenchVm, cfg: Config, idleUs: number, timer: number): Promise<number> {
  const sab = new SharedArrayBuffer(CONTROL_BYTES);
  const page = b.hva + (b.pages - 1) * PAGE;
  const { done } = await helpers.start({ role: 'faulter', sab, host: b.vm.host.handle(), hva: page });
  const us: number[] = [];
  try {
    for (let s = 0; s < Math.max(10, cfg.samples / 3); s++) {
      spinUntil(() => b.ctx.faultPendingWqh.count() === 1, 'the faulter to queue');
      spinUs(idleUs);
      const t0 = now();
      b.ctx.wake(page, PAGE);
      const t = (now() - t0) * 1000 - timer;
      if (s >= 1) us.push(t);
    }
  } finally {
    // Resolve the page: the faulter's read completes.
    b.uffd.continue(page, PAGE);
  }
  await done;
  return median(us);
}

// --- 5. a plain fault in a real vCPU thread (cross-check of this thread's figures) ----------------

/**
 * The built-in memstress guest in a real vCPU thread over anonymous memory in an ordinary slot:
 * rounds after a dontneed fault every page (plain KVM fault: allocate, zero, PTE, spte), rounds
 * without re-read present pages (TLB miss and TDP walk hit: the region is 4× the TLB). Per page,
 * timed by the VMM between sync exits.
 */
async function memstressPlainFault(cfg: Config): Promise<{ fault: number; present: number }> {
  const pages = 4096;
  const bytes = pages * PAGE;
  const vm = new Kvm().createVm({ hostMemoryBytes: bytes + (16 << 20) });
  let vcpu: Vcpu | undefined;
  try {
    const hva = vm.host.mmap(bytes);
    vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: GPA, memorySize: bytes, userspaceAddr: hva });
    const pairs = cfg.quick ? 3 : 7;
    const rounds = 4 + 2 * pairs;
    vcpu = await createVcpu(vm, 0, { guest: 'memstress', args: { gpa: GPA, pages, rounds, write: false } });
    const fault: number[] = [];
    const present: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r > 0 && r % 2 === 0) vm.host.madvise(hva, bytes, 'dontneed');
      const t0 = now();
      const e = await vcpu.run();
      const us = ((now() - t0) * 1000) / pages;
      if (e.reason !== KVM_EXIT_IO) throw new Error(`calibrate: memstress exited with reason ${e.reason}`);
      if (r >= 4) (r % 2 === 0 ? fault : present).push(us);
    }
    return { fault: median(fault), present: median(present) };
  } finally {
    await vcpu?.destroy();
    await vm.close();
  }
}

/**
 * CPU contention: the plain-fault memstress pass of `memstressPlainFault`, on two vCPUs at once (each
 * its own region, this machine's two CPUs busy) against one alone, interleaved. The slow-down of the
 * same work with two CPUs busy, minus 1, is cpuContention (log2(2) = 1).
 */
async function memstressContention(cfg: Config): Promise<{ one: number; two: number }> {
  const pages = 4096;
  const bytes = pages * PAGE;
  const vm = new Kvm().createVm({ hostMemoryBytes: 2 * bytes + (16 << 20) });
  const vcpus: Vcpu[] = [];
  try {
    const hva = vm.host.mmap(2 * bytes);
    vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: GPA, memorySize: 2 * bytes, userspaceAddr: hva });
    const pairs = cfg.quick ? 3 : 7;
    const rounds = 4 + 4 * pairs;
    for (let i = 0; i < 2; i++) vcpus.push(await createVcpu(vm, i, { guest: 'memstress', args: { gpa: GPA + i * bytes, pages, rounds, write: false } }));
    const one: number[] = [];
    const two: number[] = [];
    for (let r = 0; r < rounds; r += 2) {
      // Odd pairs: vCPU 1 alone (vCPU 0 runs its round after); even pairs: both at once. Each round faults its region afresh.
      vm.host.madvise(hva, 2 * bytes, 'dontneed');
      const alone = (r / 2) % 2 === 1;
      const t0 = now();
      if (alone) {
        await vcpus[1].run();
        const us = ((now() - t0) * 1000) / pages;
        await vcpus[0].run();
        if (r >= 4) one.push(us);
      } else {
        await Promise.all(vcpus.map((v) => v.run()));
        if (r >= 4) two.push(((now() - t0) * 1000) / pages);
      }
      // The second round of each pair finds its pages present: run it to keep the guests in step.
      await Promise.all(vcpus.map((v) => v.run()));
    }
    return { one: median(one), two: median(two) };
  } finally {
    for (const v of vcpus) await v.destroy();
    await vm.close();
  }
}

// --- 6. the profile --------------------------------------------------------------------------------

interface Measured {
  real: RealRuns;
  /** Plain-fault µs per page with one vCPU running, and per vCPU with two running at once. */
  contention: { one: number; two: number };
  wq: WaitQueueCosts;
  fp: FaultPathCosts;
  mmLines: number;
  /** The wake-up modes seen in the ping-pongs (one, or two: polled and descheduled CPUs). */
  modes: WakeMode[];
  handoff: number;
  wqHandoff: number;
  remoteWalkSlope: number;
}

/**
 * The fields from the measurements. The arithmetic, field by field:
 *
 *   guestUs          = exit-run wall time per page − its mean access latency (the guest's loop, timing, check)
 *   faultEntryUs     = [TLB miss + TDP walk miss + kvm_tdp_page_fault to the absent-page decision] + [faultIn → VM_FAULT_USERFAULT]
 *   enqueueHoldUs    = UffdCtx.enqueue
 *   mustWaitUs       = HostMemory.userfaultfdMustWait
 *   fdWakeHoldUs     = wakeReaders() over K entries: intercept at K = 0
 *   fdWakePerEntryUs = that fit's slope + (notify of a sleeping thread − notify of nobody): each entry woken is a reader asleep
 *   wakeupUs         = Atomics.notify → the sleeper running, median of the ping-pongs' wake-up mode the uffd runs were in (below)
 *   refileHoldUs     = fault_wqh lock + add + unlock;  readHoldUs = UffdCtx.readOne − refileHoldUs
 *   readerSyscallUs  = (Userfaultfd.wait(0) + read(1), a message pending) − readOne
 *   mmLines          = lines written by two exit-path resolutions on different vCPUs and pages (sharedLines)
 *   mmHoldUs         = one Atomics.add on a line this thread holds (each of those lines is one RMW)
 *   continueUs       = UFFDIO_CONTINUE+DONTWAKE − mmLines·mmHoldUs;  copyUs = UFFDIO_COPY+DONTWAKE − mmLines·mmHoldUs
 *                      (the model charges the mm lines on top of these: the totals are the calls' measured times)
 *   walkPerWaiterUs  = slope of wake() over B records last written by another thread
 *   wakeHoldUs       = wake() of one waiter in range − one in-cache visit (the walk fit's slope) + (notify of a sleeper − of nobody)
 *   handoffUs        = SabMutex lock+unlock when the other thread took it last − when this one did
 *   wqHandoffUs      = the same for fault_pending_wqh with a record queued by one thread and unlinked by the other
 *   handoffPerWaiterUs = 0: not measured (two CPUs never queue more than one waiter on a line)
 *   claimUs          = Atomics.compareExchange on a fresh word of the claim bitmap
 *   reenterUs        = the refault on the now-present page (spte installed, RET_PF_FIXED) + the TDP walk that then hits
 *   exitUs           = exit p50 − faultEntryUs − claimUs − (continueUs + mmLines·mmHoldUs) − reenterUs
 *                      (the model's 1-vCPU exit path: no lock changes hands; what is left is the exit itself:
 *                      kvm_run's memory_fault, the in-thread handler dispatch, the fetch and counters, KVM_RUN again)
 *   faultRetryUs     = uffd p50 − what the model puts on the same 1-vCPU critical path besides it:
 *                        faultEntryUs + enqueueHoldUs + mustWaitUs + max(wakeupUs, fdWakeHoldUs + fdWakePerEntryUs)
 *                        + readHoldUs + refileHoldUs + readerSyscallUs + continueUs + mmLines·mmHoldUs
 *                        + wakeHoldUs + walkPerWaiterUs + wakeupUs + 4·wqHandoffUs
 *                      (4 wait-queue locks change hands per fault: fault_pending_wqh at the enqueue and at the read,
 *                      fd_wqh at the fault's wake_up_poll and at the read; the reader's wake-up runs while the
 *                      faulter still holds fd_wqh, so the read waits for the longer of the two). What is left is the
 *                      woken vCPU's side: leaving Atomics.wait, handle_userfault's tail, the refault and spte install.
 *
 * The wake-up mode: when the ping-pongs show two (a thread woken on a CPU the host still polls, and
 * one the host has descheduled: a few µs against tens), the sum above is computed with each, and
 * the uffd runs' median p50 is taken to be in the mode whose sum it is nearer to (below the midpoint
 * of the two: the faster one). wakeupUs and the notify costs are that mode's.
 *
 * Either residual below its floor is replaced by the floor, and the progress lines say so: 0 for
 * exitUs; for faultRetryUs the directly measured refault (the retry cannot be cheaper than the
 * refault it runs).
 */
function derive(m: Measured, say: (s: string) => void): { costs: Omit<CostProfile, 'source'>; mode: WakeMode } {
  const { real, wq, fp } = m;
  const mmHoldUs = fp.rmw;
  const mmLines = m.mmLines;
  const mm = mmLines * mmHoldUs;
  const faultEntryUs = fp.entryExit + fp.faultInUserfault;
  const continueUs = Math.max(0, fp.continueCall - mm);
  const copyUs = Math.max(0, fp.copy - mm);
  const refileHoldUs = wq.refile;
  const readHoldUs = Math.max(0, wq.readOne - wq.refile);
  const fdWakeHoldUs = Math.max(0, wq.fdWake.intercept);
  const walkPerWaiterUs = Math.max(0, Number.isFinite(m.remoteWalkSlope) ? m.remoteWalkSlope : wq.walk.slope);
  const claimUs = fp.cas;
  const reenterUs = fp.install;
  const wqHandoffUs = Math.max(0, m.wqHandoff);
  const enqueueHoldUs = wq.enqueue;
  const readerSyscallUs = Math.max(0, wq.readerSyscall);
  const withMode = (w: WakeMode): { fdWakePerEntryUs: number; wakeHoldUs: number; rest: number } => {
    const notifyExtra = Math.max(0, w.notifySleeper - wq.notifyIdle);
    const fdWakePerEntryUs = Math.max(0, wq.fdWake.slope) + notifyExtra;
    const wakeHoldUs = Math.max(0, wq.wakeMatched - Math.max(0, wq.walk.slope)) + notifyExtra;
    const rest = faultEntryUs + enqueueHoldUs + fp.mustWait + Math.max(w.wakeup, fdWakeHoldUs + fdWakePerEntryUs) + readHoldUs + refileHoldUs +
      readerSyscallUs + continueUs + mm + wakeHoldUs + walkPerWaiterUs + w.wakeup + 4 * wqHandoffUs;
    return { fdWakePerEntryUs, wakeHoldUs, rest };
  };
  const sums = m.modes.map(withMode);
  const pick = m.modes.length === 2 && real.uffdP50 >= (sums[0].rest + sums[1].rest) / 2 ? 1 : 0;
  const mode = m.modes[pick];
  const { fdWakePerEntryUs, wakeHoldUs, rest: uffdRest } = sums[pick];
  const exitRest = faultEntryUs + claimUs + continueUs + mm + reenterUs;
  const exitUs = real.exitP50 - exitRest;
  const retry = real.uffdP50 - uffdRest;
  const costs = {
    guestUs: Math.max(0, real.guestUs), faultEntryUs, enqueueHoldUs, mustWaitUs: fp.mustWait, fdWakeHoldUs, fdWakePerEntryUs,
    // Both wake-up modes, with their shares: the model draws each wake-up from them.
    wakeupUs: m.modes[0].wakeup, wakeupSlowUs: m.modes[m.modes.length - 1].wakeup, wakeupSlowShare: m.modes.length === 2 ? m.modes[1].share : 0,
    readHoldUs, refileHoldUs, readerSyscallUs, continueUs, copyUs, wakeHoldUs, walkPerWaiterUs,
    handoffUs: Math.max(0, m.handoff), wqHandoffUs, handoffPerWaiterUs: 0, faultRetryUs: Math.max(fp.install, retry), exitUs: Math.max(0, exitUs),
    claimUs, reenterUs, mmLines, mmHoldUs,
    // log2(2) = 1: the slow-down with both CPUs busy, minus one.
    cpuContention: Math.max(0, m.contention.two / m.contention.one - 1),
  };
  if (m.modes.length === 2) {
    say(`uffd path components with each wake-up mode: ${f3(sums[0].rest)} µs (${f3(m.modes[0].wakeup)} µs wake-ups) and ${f3(sums[1].rest)} µs (${f3(m.modes[1].wakeup)} µs); ` +
      `the runs' p50 ${f3(real.uffdP50)} µs (${real.uffdP50s.map(f3).join(', ')}) is taken to be in the ${pick === 0 ? 'fast' : 'slow'} one`);
  }
  say(`exit path: p50 ${f3(real.exitP50)} µs = components ${f3(exitRest)} µs + exitUs ${f3(exitUs)} µs${exitUs < 0 ? ' (negative: set to 0)' : ''}`);
  say(`uffd path: p50 ${f3(real.uffdP50)} µs = components ${f3(uffdRest)} µs + faultRetryUs ${f3(retry)} µs${retry < fp.install ? ` (below the measured refault ${f3(fp.install)} µs: set to it)` : ''}`);
  return { costs, mode };
}

/**
 * Measures this machine and returns a `measured` cost profile (every CostProfile field; see derive()
 * for how each comes from the measurements). Under ~60 s, under ~10 s with `quick`.
 */
export async function calibrateCosts(options: CalibrateOptions = {}): Promise<CostProfile> {
  const cfg = options.quick === true ? QUICK : FULL;
  const t0 = now();
  const say = (s: string): void => options.progress?.(`[${((now() - t0) / 1000).toFixed(1)} s] ${s}`);
  const timer = timerOverheadUs();
  say(`calibrating (${cfg.quick ? 'quick' : 'full'}): timer overhead ${f3(timer * 1000)} ns`);

  const helpers = new Helpers();
  let b: BenchVm | undefined;
  const extra: Userfaultfd[] = [];
  try {
    b = benchVm(cfg.pages);
    const bench = b;
    const lines = sharedLines(bench, say);
    const bins = new Bins();
    const session = (into: Bins): void => {
      waitQueueSession(bench, cfg, timer, into);
      faultPathSession(bench, cfg, into);
    };
    // A first session only warms the code up (V8 optimizes a hot function after many calls); the rest count.
    session(new Bins());
    session(bins);

    // The real runs, each uffd run between two wake-up ping-pongs (the host's wake-up latency drifts:
    // it is measured next to the runs it is compared with), then another session of microbenchmarks.
    // The work each thread of a 1-vCPU uffd run does between being woken and waking the other, from
    // the microbenchmarks: the vCPU refaults, runs the guest, faults, queues, re-checks and wakes the
    // reader; the reader reads, resolves and walks.
    const pongs: WakeupSamples[] = [];
    let work: [number, number] = [0, 0];
    const burst = async (): Promise<void> => {
      const rounds = cfg.quick ? 300 : 600;
      pongs.push(await wakeups(helpers, [
        { rounds, workUs: work, skip: 50 },
        // No work: the shortest sleeps (the other mode, if the rhythm above stays in one).
        { rounds: rounds >> 1, workUs: [0, 0], skip: 20 },
      ]));
      await helpers.terminateAll();
    };
    const real = await realRuns(cfg, say, async (_i, guestUs) => {
      work = [
        bins.med('install') + guestUs + bins.med('entry') + bins.med('faultIn') + bins.med('enqueue') + bins.med('mustWait') + bins.med('fd:0'),
        bins.med('waitRead') + bins.med('cont') + bins.med(`walk:${cfg.walkLengths[0]}`),
      ];
      await burst();
    }, async () => {
      await burst();
      session(bins);
    });
    const wq = waitQueueCosts(bins, cfg, say);
    const fp = faultPathCosts(bins, say);
    const modes = wakeModes(pongs.flatMap((p) => [...p.phases[0], ...p.phases[1]]));
    const offs = pongs.flatMap((p) => p.offsetUs).map((x) => Math.abs(x));
    const rtts = pongs.flatMap((p) => p.rttUs);
    say(`wake-up, Atomics.notify → running (${modes.reduce((n, x) => n + x.samples, 0)} samples in ${pongs.length} ping-pongs, working ${f3(work[0])} / ${f3(work[1])} µs or nothing per side): ` +
      modes.map((x) => `${f3(x.wakeup)} µs (${(x.share * 100).toFixed(0)}%, asleep ${f3(x.idleUs)} µs, the notifier's Atomics.notify ${f3(x.notifySleeper)} µs)`).join(' and ') +
      `; clock offsets up to ${f3(Math.max(...offs))} µs (ping round trips from ${f3(Math.min(...rtts))} µs)`);
    const mutex = await pingpong(helpers, cfg, 'mutex', {});
    say(`SabMutex lock+unlock: ${f3(mutex.same)} µs when this thread took it last, +${f3(mutex.handoff)} µs when the other did`);
    extra.push(b.vm.host.userfaultfd(), b.vm.host.userfaultfd());
    const wqp = await pingpong(helpers, cfg, 'wq', { host: b.vm.host, ctxs: [extra[0].id, extra[1].id], recs: [fakeRecord(MAX_FAKE), fakeRecord(MAX_FAKE + 1)] });
    say(`fault_pending_wqh lock + add/del + unlock: ${f3(wqp.same)} µs by one thread, +${f3(wqp.handoff)} µs when the other thread queued or unlinked last`);
    const remote = await remoteWalk(helpers, b, cfg, timer);
    say(`wake walk, records last written by another thread: ${remote.points.map(([B, us]) => `B=${B}: ${f3(us)}`).join(', ')} µs → ${f3(remote.intercept)} µs + ${f3(remote.slope * 1000)} ns/waiter`);
    const contention = await memstressContention(cfg);
    say(`plain faults, memstress: ${f3(contention.one)} µs/page with one vCPU running, ${f3(contention.two)} µs per vCPU with two at once → cpuContention ${f3(Math.max(0, contention.two / contention.one - 1))}`);
    const measured: Measured = { real, contention, wq, fp, mmLines: lines.length, modes, handoff: mutex.handoff, wqHandoff: wqp.handoff, remoteWalkSlope: remote.slope };
    const { costs: c, mode } = derive(measured, say);
    // The real sleepers, asleep as long as in the chosen wake-up mode.
    const fdReal = await realReaderWake(helpers, b, cfg, mode.idleUs, timer);
    const wakeReal = await realFaulterWake(helpers, b, cfg, mode.idleUs, timer);
    const plain = await memstressPlainFault(cfg);
    await helpers.terminateAll();
    // What the profile's parts add up to for one sleeper, with each wake-up mode's notify cost.
    const fdSum = modes.map((x) => c.fdWakeHoldUs + Math.max(0, wq.fdWake.slope) + Math.max(0, x.notifySleeper - wq.notifyIdle) + c.wqHandoffUs);
    const walkSum = modes.map((x) => Math.max(0, wq.wakeMatched - Math.max(0, wq.walk.slope)) + Math.max(0, x.notifySleeper - wq.notifyIdle) + c.walkPerWaiterUs + c.wqHandoffUs);
    say(`cross-checks (this thread spins beside the sleeper, so the host's placement decides which mode it meets): ` +
      `wakeReaders with a real reader asleep ${f3(fdReal)} µs (fdWakeHoldUs + fdWakePerEntryUs + wqHandoffUs with each mode's notify: ${fdSum.map(f3).join(' / ')} µs); ` +
      `UFFDIO_WAKE with a real faulter asleep ${f3(wakeReal)} µs (wakeHoldUs + walkPerWaiterUs + wqHandoffUs: ${walkSum.map(f3).join(' / ')} µs); ` +
      `plain fault in a vCPU thread (memstress) ${f3(plain.fault - plain.present)} µs/page vs ${f3(fp.plainFault)} µs in this thread`);

    const cpus = os.availableParallelism();
    const model = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
    const source = `measured: ${cpus}-CPU ${model} (os.availableParallelism() = ${cpus}), Node ${process.version}, ${os.platform()} ${os.release()}; ` +
      `${new Date().toISOString()}; calibrateCosts${cfg.quick ? ' (quick)' : ''}: microbenchmarks of the real implementation (medians of ${cfg.reps} repeats) ` +
      `and 1-vCPU MINOR demandPaging runs (${cfg.runs} per path; p50 exit ${f3(real.exitP50)} µs, uffd ${f3(real.uffdP50)} µs) split into exitUs and faultRetryUs; ` +
      `wake-ups ${modes.map((x) => `${f3(x.wakeup)} µs (${(x.share * 100).toFixed(0)}%)`).join(' / ')}, wakeupUs = ${f3(mode.wakeup)} µs, the mode of the uffd runs; method per field: calibrate.ts`;
    const profile = checkCostProfile({ source, ...c }, 'measured profile');
    for (const k of COST_FIELDS) if (!Number.isFinite(profile[k])) throw new Error(`calibrate: ${k} is not a finite number`);
    say(`done in ${((now() - t0) / 1000).toFixed(1)} s`);
    return profile;
  } finally {
    await helpers.terminateAll();
    for (const u of extra) u.close();
    if (b) {
      b.uffd.close();
      await b.vm.close();
    }
  }
}
