/** The measurements of a calibration and derive(): the cost profile's fields from them. */
import type { CostProfile } from '../costs.js';
import type { FaultPathCosts, WaitQueueCosts } from './bench-vm.js';
import type { RealRuns } from './real-runs.js';
import { f3 } from './stats.js';
import type { SwitchCost, WakeMode } from './threads.js';

// --- 6. the profile --------------------------------------------------------------------------------

export interface Measured {
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
  /** Sleep/wake hand-offs with every CPU busy (switchers). */
  switches: SwitchCost;
  /** SabMutex.lock's spin before it sleeps, µs. */
  spinUs: number;
  /** The sleep length that separates fast wake-ups from slow ones (threads.ts haltPoll). */
  haltPoll: { us: number; accuracy: number };
}

/**
 * The fields from the measurements. The arithmetic, field by field:
 *
 *   guestUs          = exit-run wall time per page − its mean access latency (the guest's loop, timing, check)
 *   faultEntryUs     = [TLB miss + TDP walk miss + kvm_tdp_page_fault to the absent-page decision] + [faultIn → VM_FAULT_USERFAULT]
 *   enqueueHoldUs    = UffdCtx.enqueue
 *   mustWaitUs       = HostMemory.userfaultfdMustWait
 *   fdWakeHoldUs     = wakeReaders() over K entries: intercept at K = 0
 *   fdWakePerEntryUs = that fit's slope (the notify of the reader it wakes is notify*Us)
 *   wakeupUs         = Atomics.notify → the sleeper running, median of the ping-pongs' wake-up mode the uffd runs were in (below)
 *   sleepUs          = switchers (2 × cpus pairs passing a turn, every CPU busy): cpus × wall time / hand-offs − their notify per hand-off
 *                      (what a sleep and a wake-up cost the CPUs besides the notify: the wait's entry and return, the switches)
 *   lockSpinUs       = SabMutex.lock's SAB_MUTEX_SPINS failing compare-exchanges, timed
 *   refileHoldUs     = fault_wqh lock + add + unlock;  readHoldUs = UffdCtx.readOne − refileHoldUs
 *   readerSyscallUs  = (Userfaultfd.wait(0) + read(1), a message pending) − readOne
 *   mmLines          = lines written by two exit-path resolutions on different vCPUs and pages (sharedLines)
 *   mmHoldUs         = one Atomics.add on a line this thread holds (each of those lines is one RMW)
 *   continueUs       = UFFDIO_CONTINUE+DONTWAKE − mmLines·mmHoldUs;  copyUs = UFFDIO_COPY+DONTWAKE − mmLines·mmHoldUs
 *                      (the model charges the mm lines on top of these: the totals are the calls' measured times)
 *   walkPerWaiterUs  = slope of wake() over B records last written by another thread
 *   wakeHoldUs       = wake() of one waiter in range − one in-cache visit (the walk fit's slope) (the notify is notify*Us)
 *   notifyUs, notifySlowUs = Atomics.notify of a sleeper − of nobody, in the ping-pongs' fast and slow wake-up modes
 *   notifyBusyUs     = the switchers' Atomics.notify per hand-off − of nobody (every CPU busy)
 *   lineCcxUs        = SabMutex lock+unlock when the other thread took it last − when this one did (a line
 *                      moving between this machine's two CPUs, which the topology below puts in one CCX)
 *   lineSmtUs, lineCcdUs, lineSocketUs = lineCcxUs: this machine has no other level to measure (unused by its topology)
 *   wqLines          = (the same for fault_pending_wqh with a record queued by one thread and unlinked by the other) / lineCcxUs:
 *                      a wait-queue lock hand-off in line transfers
 *   sockets, ccxPerSocket, threadsPerCore = 1, coresPerCcx = os.availableParallelism(), placement = compact:
 *                      the guest sees its vCPUs as one flat group; its threads are placed one per CPU
 *   handoffPerWaiterUs = 0: not measured (two CPUs never queue more than one waiter on a line)
 *   claimUs          = Atomics.compareExchange on a fresh word of the claim bitmap
 *   reenterUs        = the refault on the now-present page (spte installed, RET_PF_FIXED) + the TDP walk that then hits
 *   exitUs           = exit mean − faultEntryUs − claimUs − (continueUs + mmLines·mmHoldUs) − reenterUs
 *                      (the mean access latency, not the p50: the model is for rates, and the exit path's rate
 *                      is its mean time per page; its latency has a tail the p50 misses — calibrations saw p50
 *                      1.29–1.35 µs in runs of 375–549 K pages/s. With guestUs, the model's 1-vCPU exit rate is
 *                      then the runs' own. The uffd path keeps its p50: the model draws the slow wake-ups
 *                      that make its tail, and a mean would count them twice.)
 *                      (the model's 1-vCPU exit path: no lock changes hands; what is left is the exit itself:
 *                      kvm_run's memory_fault, the in-thread handler dispatch, the fetch and counters, KVM_RUN again)
 *   faultRetryUs     = uffd p50 − what the model puts on the same 1-vCPU critical path besides it:
 *                        faultEntryUs + enqueueHoldUs + mustWaitUs + max(wakeupUs, fdWakeHoldUs + fdWakePerEntryUs)
 *                        + readHoldUs + refileHoldUs + readerSyscallUs + continueUs + mmLines·mmHoldUs
 *                        + wakeHoldUs + walkPerWaiterUs + wakeupUs + 4·wqLines·lineCcxUs
 *                      (4 wait-queue locks change hands per fault: fault_pending_wqh at the enqueue and at the read,
 *                      fd_wqh at the fault's wake_up_poll and at the read; the reader's wake-up runs while the
 *                      faulter still holds fd_wqh, so the read waits for the longer of the two). What is left is the
 *                      woken vCPU's side: leaving Atomics.wait, handle_userfault's tail, the refault and spte install.
 *
 *   haltPollUs       = the ping-pongs' sleep length that best tells their fast wake-ups from their slow ones (haltPoll
 *                      in threads.ts); 1e6 with one mode. The model wakes a thread slowly onto a CPU idle longer.
 *   faultRetryUs     (above) when the runs' p50 is in the slow mode: it then mixes a fast and a slow wake-up, and
 *                      faultRetryUs is the measured refault instead
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
export function derive(m: Measured, say: (s: string) => void, cpus = 2): { costs: Omit<CostProfile, 'source'>; mode: WakeMode } {
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
  // The line transfer between the two CPUs; a floor of 1 ns keeps wqLines finite when the mutex showed none.
  const lineUs = Math.max(0.001, m.handoff);
  const enqueueHoldUs = wq.enqueue;
  const readerSyscallUs = Math.max(0, wq.readerSyscall);
  // The notifies are fields of their own (per wake-up mode); the hold times are without them.
  const fdWakePerEntryUs = Math.max(0, wq.fdWake.slope);
  const wakeHoldUs = Math.max(0, wq.wakeMatched - Math.max(0, wq.walk.slope));
  const notify = (w: WakeMode): number => Math.max(0, w.notifySleeper - wq.notifyIdle);
  const withMode = (w: WakeMode): { rest: number } => {
    const n = notify(w);
    const rest = faultEntryUs + enqueueHoldUs + fp.mustWait + Math.max(w.wakeup, fdWakeHoldUs + fdWakePerEntryUs + n) + readHoldUs + refileHoldUs +
      readerSyscallUs + continueUs + mm + wakeHoldUs + n + walkPerWaiterUs + w.wakeup + 4 * wqHandoffUs;
    return { rest };
  };
  const sums = m.modes.map(withMode);
  const pick = m.modes.length === 2 && real.uffdP50 >= (sums[0].rest + sums[1].rest) / 2 ? 1 : 0;
  const mode = m.modes[pick];
  const { rest: uffdRest } = sums[pick];
  const exitRest = faultEntryUs + claimUs + continueUs + mm + reenterUs;
  const exitUs = real.exitAvg - exitRest;
  // In the slow mode the p50 fault mixes its two wake-ups' modes: no residual is taken from it, the
  // retry is then the measured refault (its floor).
  const retry = pick === 0 ? real.uffdP50 - uffdRest : fp.install;
  const faultRetryUs = Math.max(fp.install, retry);
  const costs = {
    guestUs: Math.max(0, real.guestUs), faultEntryUs, enqueueHoldUs, mustWaitUs: fp.mustWait, fdWakeHoldUs, fdWakePerEntryUs,
    // Both wake-up modes, with their shares: the model draws each wake-up from them.
    wakeupUs: m.modes[0].wakeup, wakeupSlowUs: m.modes[m.modes.length - 1].wakeup, haltPollUs: m.haltPoll.us,
    sleepUs: m.switches.sleepUs, lockSpinUs: m.spinUs,
    notifyUs: notify(m.modes[0]), notifySlowUs: notify(m.modes[m.modes.length - 1]), notifyBusyUs: Math.max(0, m.switches.notifyUs - wq.notifyIdle),
    readHoldUs, refileHoldUs, readerSyscallUs, continueUs, copyUs, wakeHoldUs, walkPerWaiterUs,
    lineSmtUs: lineUs, lineCcxUs: lineUs, lineCcdUs: lineUs, lineSocketUs: lineUs, wqLines: wqHandoffUs / lineUs,
    handoffPerWaiterUs: 0, faultRetryUs, exitUs: Math.max(0, exitUs),
    claimUs, reenterUs, mmLines, mmHoldUs,
    sockets: 1, ccxPerSocket: 1, coresPerCcx: Math.max(1, cpus), threadsPerCore: 1, placement: 'compact' as const,
    // log2(2) = 1: the slow-down with both CPUs busy, minus one.
    cpuContention: Math.max(0, m.contention.two / m.contention.one - 1),
  };
  if (m.modes.length === 2) {
    say(`uffd path components with each wake-up mode: ${f3(sums[0].rest)} µs (${f3(m.modes[0].wakeup)} µs wake-ups) and ${f3(sums[1].rest)} µs (${f3(m.modes[1].wakeup)} µs); ` +
      `the runs' p50 ${f3(real.uffdP50)} µs (${real.uffdP50s.map(f3).join(', ')}) is taken to be in the ${pick === 0 ? 'fast' : 'slow'} one`);
  }
  say(`exit path: mean ${f3(real.exitAvg)} µs (p50 ${f3(real.exitP50)} µs) = components ${f3(exitRest)} µs + exitUs ${f3(exitUs)} µs${exitUs < 0 ? ' (negative: set to 0)' : ''}`);
  say(`uffd path: p50 ${f3(real.uffdP50)} µs = components ${f3(uffdRest)} µs + faultRetryUs ${f3(retry)} µs${retry < fp.install ? ` (below the measured refault ${f3(fp.install)} µs: set to it)` : ''}`);
  return { costs, mode };
}
