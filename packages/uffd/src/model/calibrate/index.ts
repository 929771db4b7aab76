/**
 * calibrateCosts: a `measured` cost profile for this machine, from microbenchmarks of the real
 * implementation (@vcpu-rt/core's userfaultfd, host memory and vCPU MMU, run in this thread and in
 * helper worker threads: worker.ts) and from two real 1-vCPU demand-paging runs, whose
 * p50 fault latencies are split into the fields that no microbenchmark isolates.
 *
 * Every figure is a median: of per-batch means over many iterations (batches of back-to-back calls,
 * µs per call) or of single timed calls (with the timer's own cost, measured, taken off), each after
 * a warm-up. Nothing is fitted to a target: the two fields derived from the real runs (exitUs,
 * faultRetryUs) are what those runs' p50 latencies leave once every directly measured component on
 * the same path is taken off, by the model's own accounting (see derive() in derive.ts).
 *
 * The machine drifts (a shared VM): the microbenchmarks run in sessions spread between the real
 * runs and their samples are pooled, and the thread wake-ups — onto an idle CPU, a busy one, the
 * waker's own, which on a virtual machine differ by an order of magnitude — are measured by
 * ping-pongs pinned to the CPUs (taskset), right before and after each uffd run.
 */
import os from 'node:os';
import { SAB_MUTEX_SPINS, type Userfaultfd } from '@vcpu-rt/core';
import { checkCostProfile, COST_FIELDS, type CostProfile } from '../costs.js';
import { type BenchVm, benchVm, faultPathCosts, faultPathSession, waitQueueCosts, waitQueueSession } from './bench-vm.js';
import { fakeRecord, FULL, MAX_FAKE, QUICK, type CalibrateOptions } from './config.js';
import { derive, type Measured } from './derive.js';
import { Helpers } from './helpers.js';
import { memstressContention, memstressPlainFault } from './plain-fault.js';
import { exitFigures, exitRun, realRuns } from './real-runs.js';
import { sharedLines } from './shared-lines.js';
import { Bins, f3, median, now, quantile, timerOverheadUs } from './stats.js';
import { haltPoll, lockSleeps, migrationsPerWake, mutexSpinUs, pingpong, realFaulterWake, realReaderWake, remoteWalk, switchCost, wakeCase, wakeSpread, wakeups, type WakeSample } from './threads.js';

export type { CalibrateOptions } from './config.js';

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
    // Each burst: the rhythm with the two threads pinned to two CPUs, so that each is woken onto
    // an idle CPU after the other's side of a fault (with one CPU, both on it); and pinned to one
    // CPU, so that each is woken onto its waker's CPU.
    const pins: [number, number] = os.availableParallelism() >= 2 ? [0, 1] : [0, 0];
    const pongs: WakeSample[] = [];
    const localPongs: WakeSample[] = [];
    let work: [number, number] = [0, 0];
    const burst = async (): Promise<void> => {
      const phase = [{ rounds: cfg.quick ? 200 : 400, workUs: work, skip: 20 }];
      pongs.push(...(await wakeups(helpers, phase, pins)).phases[0]);
      await helpers.terminateAll();
      localPongs.push(...(pins[0] === pins[1] ? [] : (await wakeups(helpers, phase, [0, 0])).phases[0]));
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
    const wake = wakeCase(pongs);
    const local = localPongs.length > 0 ? wakeCase(localPongs) : wake;
    say(`wake-up onto an idle CPU, Atomics.notify → running (ping-pongs pinned to ${pins[0] === pins[1] ? 'one CPU' : 'two CPUs'}, working ${f3(work[0])} / ${f3(work[1])} µs per side): ` +
      `${f3(wake.wakeUs)} µs (p10 ${f3(quantile(pongs.map((x) => x.wake), 0.1))} µs; ${wake.samples} samples, asleep ${f3(wake.idleUs)} µs; the notify ${f3(wake.notifyUs)} µs); ` +
      `pinned to one CPU, the notify of a thread on the waker's own CPU ${f3(local.notifyUs)} µs (it runs ${f3(local.wakeUs)} µs after)`);
    const sleeps = pins[0] === pins[1] ? [] : await lockSleeps(helpers, cfg.quick ? 2000 : 4000, 8, 20, cfg.quick ? 1 : 3);
    const poll = haltPoll(sleeps);
    const spread = wakeSpread([pongs.map((x) => x.wake)]);
    say(`SabMutex sleeps (two threads on two CPUs taking one lock, ${sleeps.length} sleeps): the release's notify ${f3(poll.cheapUs)} or ${f3(poll.dearUs)} µs; ` +
      (poll.us > 0 ? `a sleeper of up to ${f3(poll.us)} µs gets the cheap one (right for ${(100 * poll.accuracy).toFixed(0)}%) and runs ${f3(median(poll.short.map((x) => x.wake)))} µs after the release` : 'no sleep length tells them apart: no halt-poll window') +
      `; wake-up spread (CV) ${f3(spread)}`);
    const mutex = await pingpong(helpers, cfg, 'mutex', {});
    say(`SabMutex lock+unlock: ${f3(mutex.same)} µs when this thread took it last, +${f3(mutex.handoff)} µs when the other did`);
    extra.push(b.vm.host.userfaultfd(), b.vm.host.userfaultfd());
    const wqp = await pingpong(helpers, cfg, 'wq', { host: b.vm.host, ctxs: [extra[0].id, extra[1].id], recs: [fakeRecord(MAX_FAKE), fakeRecord(MAX_FAKE + 1)] });
    say(`fault_pending_wqh lock + add/del + unlock: ${f3(wqp.same)} µs by one thread, +${f3(wqp.handoff)} µs when the other thread queued or unlinked last`);
    const remote = await remoteWalk(helpers, b, cfg, timer);
    say(`wake walk, records last written by another thread: ${remote.points.map(([B, us]) => `B=${B}: ${f3(us)}`).join(', ')} µs → ${f3(remote.intercept)} µs + ${f3(remote.slope * 1000)} ns/waiter`);
    const contention = await memstressContention(cfg);
    say(`plain faults, memstress: ${f3(contention.one)} µs/page with one vCPU running, ${f3(contention.two)} µs per vCPU with two at once → cpuContention ${f3(Math.max(0, contention.two / contention.one - 1))}`);
    const switches = await switchCost(helpers, os.availableParallelism(), cfg.quick ? 300 : 600, cfg.quick ? 3 : 5, timer);
    say(`sleep and wake-up with every CPU busy (${switches.pairs} pairs of threads passing a turn): ${f3(switches.handoffUs)} CPU-µs per hand-off, ` +
      `of which the notify ${f3(switches.notifyUs)} µs → sleepUs ${f3(switches.sleepUs)} µs`);
    const spinUs = mutexSpinUs(SAB_MUTEX_SPINS, cfg.reps);
    say(`SabMutex.lock spins ${SAB_MUTEX_SPINS} compare-exchanges before it sleeps: ${f3(spinUs)} µs`);
    const migrations = await migrationsPerWake(helpers, os.availableParallelism(), cfg.quick ? 200 : 400, cfg.quick ? 1 : 3);
    // More exit runs at the end, so that the exit path's runs span the calibration (exitFigures).
    const late = [];
    for (let i = 0; i < cfg.lateExitRuns; i++) late.push(await exitRun(cfg));
    if (late.length > 0) {
      Object.assign(real, exitFigures([...real.exits, ...late]));
      say(`exit path, ${late.length} more runs: ${late.map((x) => `${Math.round(x.rate / 1000)} K pages/s`).join(', ')}; median of all ${real.exits.length}: ` +
        `${Math.round(real.exitRate / 1000)} K pages/s, mean latency ${f3(real.exitAvg)} µs`);
    }
    const measured: Measured = {
      real, contention, wq, fp, mmLines: lines.length, wake, local, poll, spread, migrationsPerWake: migrations, handoff: mutex.handoff, wqHandoff: wqp.handoff, remoteWalkSlope: remote.slope, switches, spinUs,
    };
    const c = derive(measured, say, os.availableParallelism());
    const wqHandoffUs = c.wqLines * c.lineCcxUs;
    // The real sleepers, asleep as long as in the ping-pongs (this thread spins beside them: each is
    // woken onto the other CPU, idle, or onto this one, busy, as the scheduler places it).
    const fdReal = await realReaderWake(helpers, b, cfg, wake.idleUs, timer);
    const wakeReal = await realFaulterWake(helpers, b, cfg, wake.idleUs, timer);
    const plain = await memstressPlainFault(cfg);
    await helpers.terminateAll();
    // What the profile's parts add up to for one sleeper, with the notify of each case.
    const notifies = [c.notifyUs, c.notifyBusyUs];
    const fdSum = notifies.map((n) => c.fdWakeHoldUs + c.fdWakePerEntryUs + n + wqHandoffUs);
    const walkSum = notifies.map((n) => c.wakeHoldUs + n + c.walkPerWaiterUs + wqHandoffUs);
    say(`cross-checks: ` +
      `wakeReaders with a real reader asleep ${f3(fdReal)} µs (fdWakeHoldUs + fdWakePerEntryUs + wqLines·lineCcxUs with the notify onto an idle / a busy CPU: ${fdSum.map(f3).join(' / ')} µs); ` +
      `UFFDIO_WAKE with a real faulter asleep ${f3(wakeReal)} µs (wakeHoldUs + walkPerWaiterUs + wqLines·lineCcxUs with each notify: ${walkSum.map(f3).join(' / ')} µs); ` +
      `plain fault in a vCPU thread (memstress) ${f3(plain.fault - plain.present)} µs/page vs ${f3(fp.plainFault)} µs in this thread`);

    const cpus = os.availableParallelism();
    const model = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
    const source = `measured: ${cpus}-CPU ${model} (os.availableParallelism() = ${cpus}), Node ${process.version}, ${os.platform()} ${os.release()}; ` +
      `${new Date().toISOString()}; calibrateCosts${cfg.quick ? ' (quick)' : ''}: microbenchmarks of the real implementation (medians of ${cfg.reps} repeats) ` +
      `and 1-vCPU MINOR demandPaging runs (${cfg.runs} per path; mean exit ${f3(real.exitAvg)} µs, p50 uffd ${f3(real.uffdP50)} µs) split into exitUs and faultRetryUs; ` +
      `wake-ups onto an idle CPU ${f3(c.wakeupUs)} µs, ${f3(c.wakeupPollUs)} µs after a sleep of up to ${f3(c.haltPollUs)} µs, placement ${c.wakePlacement}; method per field: packages/uffd/src/model/calibrate/derive.ts`;
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
