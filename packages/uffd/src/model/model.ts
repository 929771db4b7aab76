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
import { Sim } from './sim.js';

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
    /** Busy CPU-µs over cpus × simulated µs. */
    cpuUtilization: number;
    events: number;
    /** Wall-clock seconds the simulation took. */
    simSeconds: number;
    /** The cost profile's source. */
    costs: string;
  };
}

function sumLocks(list: SimLockStats[]): SimLockStats {
  return list.reduce((a, s) => ({ acquisitions: a.acquisitions + s.acquisitions, contended: a.contended + s.contended, waitUs: a.waitUs + s.waitUs, holdUs: a.holdUs + s.holdUs }),
    { acquisitions: 0, contended: 0, waitUs: 0, holdUs: 0 });
}

/** Wake-up latencies: the slow mode for `wakeupSlowShare` of them, from a fixed-seed generator (runs repeat exactly). */
function wakeups(c: CostProfile): () => number {
  if (c.wakeupSlowShare <= 0) return () => c.wakeupUs;
  let a = 0x9e3779b9;
  return () => {
    // mulberry32
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    const u = ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    return u < c.wakeupSlowShare ? c.wakeupSlowUs : c.wakeupUs;
  };
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
  const sim = new Sim(cpus, c.cpuContention);
  const env: MechanismEnv = {
    sim, c, mode: o.mode, fetchUs: o.fetchLatencyUs, wake: o.wake,
    mm: Array.from({ length: c.mmLines }, (_, i) => new SimLock(`mm${i}`, sim, c.handoffUs, c.handoffPerWaiterUs)),
    stop: { done: false }, finished: new Array<number>(vcpus).fill(0),
    timelines: Array.from({ length: vcpus }, () => new Float64Array(2 * pages)),
    wakeup: wakeups(c),
  };
  const nUffd = o.singleUffd || o.overlap ? 1 : vcpus;
  const readersPerUffd = o.readers === 'per-vcpu' ? vcpus : o.readers;
  const uffds = Array.from({ length: nUffd }, (_, i) => new SimUffd(sim, i, c.wqHandoffUs, c.handoffPerWaiterUs));
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
    })());
  }
  if (!exits) {
    for (const u of uffds) for (let r = 0; r < readersPerUffd; r++) sim.spawn(`reader${u.id}.${r}`, (self) => uffdReader(env, u, self));
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
      cpus, simPages: pages, mm: sumLocks(env.mm.map((l) => l.stats)), cpuUtilization: sim.cpus.work / (end * cpus),
      events: sim.events, simSeconds: (performance.now() - t0) / 1000, costs: c.source,
    },
  };
}
