/**
 * modelDemandPaging: the discrete-event model of a demand-paging run (API.md). Same options as
 * demandPaging, plus the CPUs the threads share and the costs; the result has the same shape, with
 * the model's lock and queue statistics.
 */
import type { UffdLockStats, UffdStats } from '@vcpu-rt/core';
import type { DemandPagingResult } from '../demand-paging.js';
import { blocktime, latency } from '../metrics.js';
import { demandPagingOptions, type DemandPagingOptions } from '../options.js';
import { checkCostProfile, type CostProfile } from './costs.js';
import { SimLock, type SimLockStats } from './lock.js';
import { exitVcpu, SimUffd, uffdReader, uffdVcpu, type MechanismEnv } from './mechanism.js';
import { Sim, type SimThread, type Wakeup } from './sim.js';
import { Topology } from './topology.js';

/** Model-only options. */
export interface ModelOptions {
  /** Processors the simulated threads share. */
  cpus: number;
  costs: CostProfile;
  /** Pages each vCPU faults in the simulation (default: all of bytesPerVcpu, at most 2048: the rate is a steady state). */
  simPages?: number;
}

/** What the model reports: a DemandPagingResult (API.md) plus the model's own figures. */
export interface ModelResult extends DemandPagingResult {
  path: 'uffd' | 'exit';
  model: {
    cpus: number;
    /** Pages each vCPU faulted in the simulation. */
    simPages: number;
    /** The mm-wide shared lines, summed. */
    mm: SimLockStats;
    /** The wait-queue locks of every uffd, summed (transfers counted per lock hand-off, each of wqLines lines). */
    wq: SimLockStats;
    /** The host topology and placement the line transfers were priced with; the hardware thread of each vCPU. */
    topology: { sockets: number; ccxPerSocket: number; coresPerCcx: number; threadsPerCore: number; placement: string; vcpuThreads: number[] };
    /** CPU-µs with a thread on the CPU (working, or stalled on a line) over cpus × simulated µs. */
    cpuUtilization: number;
    /** Threads sent to the back of the run queue at the end of their slice. */
    preemptions: number;
    events: number;
    /**
     * The overall rate in the steady state, pages/s: faults completed while every vCPU is past its
     * first quarter of pages and none has finished, over that window (steadyRate()); the selftest's
     * rate (overallRate) also holds the start-up, which 16384 pages per vCPU make negligible and a
     * short simulation does not.
     */
    steadyRate: number;
    /** Wall-clock seconds the simulation took. */
    simSeconds: number;
    /** The cost profile's source. */
    costs: string;
  };
}

function sumLocks(list: SimLockStats[]): SimLockStats {
  return list.reduce((a, s) => ({
    acquisitions: a.acquisitions + s.acquisitions, contended: a.contended + s.contended, waitUs: a.waitUs + s.waitUs, holdUs: a.holdUs + s.holdUs,
    transfers: a.transfers + s.transfers, transferUs: a.transferUs + s.transferUs, sleeps: a.sleeps + s.sleeps,
  }), { acquisitions: 0, contended: 0, waitUs: 0, holdUs: 0, transfers: 0, transferUs: 0, sleeps: 0 });
}

/**
 * Wake-ups (CostProfile). A thread whose CPU is idle (any CPU under 'idle-cpu' placement, its own
 * under 'home-cpu') runs after wakeupPollUs if it has slept at most haltPollUs, else after
 * wakeupUs, each drawn with the spread wakeupCv, and the waker's notify costs notifyPollUs or
 * notifyUs. Otherwise its CPU is busy: it is runnable at once and waits for the CPU in the run
 * queue (processors.ts); the notify costs notifyLocalUs if that CPU is the waker's own, else
 * notifyBusyUs.
 */
export function modelWakeup(c: CostProfile, sim: Sim): Wakeup {
  const busy = { latencyUs: 0, notifyUs: c.notifyBusyUs };
  const local = { latencyUs: 0, notifyUs: c.notifyLocalUs };
  return (th, waker) => {
    if (!sim.cpus.wouldRun(th)) {
      const cpu = sim.cpus.cpuOf(th);
      return cpu >= 0 && cpu === sim.cpus.cpuOf(waker) ? local : busy;
    }
    const poll = sim.now - th.sleptAt <= c.haltPollUs;
    return { latencyUs: sim.lognormal(poll ? c.wakeupPollUs : c.wakeupUs, c.wakeupCv), notifyUs: poll ? c.notifyPollUs : c.notifyUs };
  };
}

/**
 * Faults completed per second between the moment every vCPU has finished its first quarter of
 * pages and the moment the first vCPU finishes (all running, past the start-up); the whole run's
 * rate if that window is empty.
 */
function steadyRate(timelines: readonly Float64Array[], pages: number, overall: number): number {
  const q = Math.max(0, Math.floor(pages / 4) - 1);
  let from = 0;
  let to = Infinity;
  for (const tl of timelines) {
    from = Math.max(from, tl[2 * q + 1]);
    to = Math.min(to, tl[2 * pages - 1]);
  }
  if (!(to > from)) return overall;
  let n = 0;
  for (const tl of timelines) for (let p = q + 1; p < pages; p++) if (tl[2 * p + 1] > from && tl[2 * p + 1] <= to) n++;
  return n / ((to - from) / 1e6);
}

/** Simulates one demand-paging run. */
export function modelDemandPaging(options: Partial<DemandPagingOptions> & ModelOptions): ModelResult {
  const { cpus, costs, simPages, ...rest } = options;
  const o = demandPagingOptions({ ...rest, vcpus: 1 });
  const vcpus = rest.vcpus ?? 1;
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 512) throw new RangeError(`model: vcpus must be an integer in [1, 512] (got ${String(vcpus)})`);
  const c = checkCostProfile(costs, 'costs');
  const pagesPerVcpu = o.bytesPerVcpu / 4096;
  const pages = Math.min(pagesPerVcpu, simPages ?? 2048);
  if (!Number.isInteger(pages) || pages < 1) throw new RangeError(`model: simPages must be a positive integer (got ${String(simPages)})`);
  const t0 = performance.now();
  const sim = new Sim(cpus, c.cpuContention, c.sleepUs, c.wakePlacement);
  const topo = new Topology(c, c);
  // A line's transfer takes, on average, what the two threads' places on the host say (topology.ts);
  // each transfer is drawn from an exponential distribution with that mean. Why not the mean itself:
  // with constant transfers the threads fall into lock-step and no queue forms at a line until it
  // saturates, where real transfers vary (the other requests at the line's home, the holder's own
  // misses and interrupts) and queues build up gradually with the load. A wait-queue lock moves wqLines lines.
  const lineMove = (a: SimThread, b: SimThread): number => {
    const mean = topo.transferUs(a.hw, b.hw);
    return mean > 0 ? sim.exponential(mean) : 0;
  };
  const wqMove = (a: SimThread, b: SimThread): number => {
    const mean = c.wqLines * topo.transferUs(a.hw, b.hw);
    return mean > 0 ? sim.exponential(mean) : 0;
  };
  const env: MechanismEnv = {
    sim, c, mode: o.mode, fetchUs: o.fetchLatencyUs, handlerDelayUs: o.handlerDelayUs, wake: o.wake,
    mm: Array.from({ length: c.mmLines }, (_, i) => new SimLock(`mm${i}`, sim, lineMove, c.handoffPerWaiterUs)),
    stop: { done: false }, finished: new Array<number>(vcpus).fill(0),
    timelines: Array.from({ length: vcpus }, () => new Float64Array(2 * pages)),
    wakeup: modelWakeup(c, sim),
  };
  const nUffd = o.singleUffd || o.overlap ? 1 : vcpus;
  const readersPerUffd = o.readers === 'per-vcpu' ? vcpus : o.readers;
  const sleeping = c.lockSpinUs < 1e6 ? { spinUs: c.lockSpinUs, wakeup: env.wakeup } : undefined;
  const uffds = Array.from({ length: nUffd }, (_, i) => new SimUffd(sim, i, wqMove, c.handoffPerWaiterUs, sleeping));
  // vCPU i on the i-th place of the placement; reader g beside vCPU g mod vcpus (topology.ts).
  const vcpuHw = Array.from({ length: vcpus }, (_, i) => topo.place(i));
  const exits = options.exits === true;
  let left = vcpus;
  for (let i = 0; i < vcpus; i++) {
    const u = uffds[nUffd === 1 ? 0 : i];
    sim.spawn(`vcpu${i}`, (self) => (function* () {
      if (exits) yield* exitVcpu(env, i, pages);
      else yield* uffdVcpu(env, u, self, i, pages);
      if (--left === 0) {
        env.stop.done = true;
        // Parked readers leave.
        for (const uf of uffds) while (uf.parked.length) sim.wake(uf.parked.shift()!, 0);
      }
    })(), vcpuHw[i]);
  }
  if (!exits) {
    let g = 0;
    for (const u of uffds) {
      for (let r = 0; r < readersPerUffd; r++, g++) sim.spawn(`reader${u.id}.${r}`, (self) => uffdReader(env, u, self), topo.beside(vcpuHw[g % vcpus]));
    }
  }
  sim.run();
  const end = Math.max(...env.finished);
  const seconds = end / 1e6;
  const perVcpuRate = pages / seconds;
  const walks = uffds.reduce((s, u) => s + u.walks, 0);
  const walked = uffds.reduce((s, u) => s + u.walked, 0);
  const lock = (pick: (u: SimUffd) => SimLock): UffdLockStats => {
    const t = sumLocks(uffds.map((u) => pick(u).stats));
    return { acquisitions: t.acquisitions, contended: t.contended, waitUs: t.waitUs };
  };
  // The timelines are in µs; the metrics take the real guest's ms.
  const ms = env.timelines.map((t) => t.map((x) => x / 1000));
  const resolutions = uffds.reduce((s, u) => s + u.resolutions, 0);
  const uffd: UffdStats = {
    locks: { fdWqh: lock((u) => u.fdWqh), faultPendingWqh: lock((u) => u.faultPendingWqh), faultWqh: lock((u) => u.faultWqh) },
    faults: uffds.reduce((s, u) => s + u.faults, 0),
    messages: uffds.reduce((s, u) => s + u.messages, 0),
    readerWakeups: uffds.reduce((s, u) => s + u.readerWakeups, 0),
    wakes: { walks, skipped: 0, walked, meanWalked: walks ? walked / walks : 0, maxWalked: Math.max(0, ...uffds.map((u) => u.maxWalked)), woken: uffds.reduce((s, u) => s + u.woken, 0) },
    queues: {
      pending: 0, fault: 0, readers: 0, maxPending: Math.max(0, ...uffds.map((u) => u.maxPending)),
      maxFault: Math.max(0, ...uffds.map((u) => u.maxFault)), maxReaders: readersPerUffd,
    },
    copies: o.mode === 'missing' ? resolutions : 0, zeropages: 0, continues: o.mode === 'minor' ? resolutions : 0, eexist: 0,
  };
  return {
    options: { ...o, vcpus, exits },
    path: exits ? 'exit' : 'uffd',
    pages: pages * vcpus,
    seconds,
    perVcpuRate,
    overallRate: perVcpuRate * vcpus,
    blocktime: blocktime(ms),
    latency: latency(ms),
    uffd,
    exits: { memoryFaults: exits ? pages * vcpus : 0, eexist: 0 },
    model: {
      cpus, simPages: pages, mm: sumLocks(env.mm.map((l) => l.stats)),
      wq: sumLocks(uffds.flatMap((u) => [u.fdWqh.stats, u.faultPendingWqh.stats, u.faultWqh.stats])),
      topology: { sockets: c.sockets, ccxPerSocket: c.ccxPerSocket, coresPerCcx: c.coresPerCcx, threadsPerCore: c.threadsPerCore, placement: c.placement, vcpuThreads: vcpuHw },
      cpuUtilization: sim.cpus.busyUs() / (end * cpus), preemptions: sim.cpus.preemptions,
      steadyRate: steadyRate(env.timelines, pages, perVcpuRate * vcpus),
      events: sim.events, simSeconds: (performance.now() - t0) / 1000, costs: c.source,
    },
  };
}
