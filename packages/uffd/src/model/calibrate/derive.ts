/** The measurements of a calibration and derive(): the cost profile's fields from them. */
import type { CostProfile } from '../costs.js';
import type { FaultPathCosts, WaitQueueCosts } from './bench-vm.js';
import type { RealRuns } from './real-runs.js';
import { f3, median } from './stats.js';
import type { LockSleep, SwitchCost, WakeCase } from './threads.js';

// --- 6. the profile --------------------------------------------------------------------------------

export interface Measured {
  real: RealRuns;
  /** Plain-fault µs per page with one vCPU running, and per vCPU with two running at once. */
  contention: { one: number; two: number };
  wq: WaitQueueCosts;
  fp: FaultPathCosts;
  mmLines: number;
  /** The wake-ups of the ping-pongs pinned to two CPUs, in the rhythm of a 1-vCPU uffd run: each onto an idle CPU. */
  wake: WakeCase;
  /** The same pinned to one CPU: each onto its waker's CPU. */
  local: WakeCase;
  /** The halt-poll window as SabMutex sleeps show it (threads.ts haltPoll), with those sleeps that fall in it. */
  poll: { us: number; accuracy: number; short: readonly LockSleep[] };
  /** The wake-ups' spread, a coefficient of variation (threads.ts wakeSpread). */
  spread: number;
  /** Migrations per wake-up with about as many runnable threads as CPUs (threads.ts migrationsPerWake); NaN if unknown. */
  migrationsPerWake: number;
  handoff: number;
  wqHandoff: number;
  remoteWalkSlope: number;
  /** Sleep/wake hand-offs with every CPU busy (switchers). */
  switches: SwitchCost;
  /** SabMutex.lock's spin before it sleeps, µs. */
  spinUs: number;
}

/** Below this many migrations per wake-up the scheduler keeps woken threads on their CPU ('home-cpu'). */
export const HOME_CPU_MIGRATIONS = 0.05;

/**
 * The fields from the measurements. The arithmetic, field by field:
 *
 *   guestUs          = exit-run wall time per page − its mean access latency (the guest's loop, timing, check)
 *   faultEntryUs     = [TLB miss + TDP walk miss + kvm_tdp_page_fault to the absent-page decision] + [faultIn → VM_FAULT_USERFAULT]
 *   enqueueHoldUs    = UffdCtx.enqueue
 *   mustWaitUs       = HostMemory.userfaultfdMustWait
 *   fdWakeHoldUs     = wakeReaders() over K entries: intercept at K = 0
 *   fdWakePerEntryUs = that fit's slope (the notify of the reader it wakes is notify*Us)
 *   wakeupUs         = Atomics.notify → the sleeper running, median, in ping-pongs pinned to two CPUs (each woken
 *                      onto an idle CPU), in the rhythm of a 1-vCPU uffd run (each side works as long as its side of a fault)
 *   notifyUs         = the waker's Atomics.notify there − Atomics.notify of nobody
 *   haltPollUs       = two threads pinned to two CPUs contending for a SabMutex: the sleep length up to which a
 *                      sleeper's release has the cheap notify (haltPoll in threads.ts; 0 if the notifies have one mode)
 *   wakeupPollUs, notifyPollUs = the release → the sleeper running, and the notify − of nobody, medians of those sleeps
 *                      (wakeupUs and notifyUs when there is no window)
 *   wakeupCv         = the spread of the pinned ping-pongs' wake-ups (wakeSpread in threads.ts; thousands of samples:
 *                      the lock sleeps are too few, and their matching with releases too loose, to add theirs)
 *   notifyBusyUs     = the switchers' Atomics.notify per hand-off − of nobody (every CPU busy)
 *   notifyLocalUs    = the waker's Atomics.notify in the ping-pongs pinned to one CPU − of nobody (the woken thread's CPU
 *                      is the waker's: no IPI)
 *   wakePlacement    = 'home-cpu' if threads woken while as many are runnable as there are CPUs migrate less than
 *                      HOME_CPU_MIGRATIONS times per wake-up (se.nr_migrations), else 'idle-cpu' (also when unknown)
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
 *                      then the runs' own. The uffd path keeps its p50: its two wake-ups a fault are the same
 *                      kind each time, and its tail is the runs' other threads, which the model does not have.)
 *                      (the model's 1-vCPU exit path: no lock changes hands; what is left is the exit itself:
 *                      kvm_run's memory_fault, the in-thread handler dispatch, the fetch and counters, KVM_RUN again)
 *   faultRetryUs     = uffd p50 − what the model puts on the same 1-vCPU critical path besides it:
 *                        faultEntryUs + enqueueHoldUs + mustWaitUs + max(wakeupUs, fdWakeHoldUs + fdWakePerEntryUs + notifyUs)
 *                        + readHoldUs + refileHoldUs + readerSyscallUs + continueUs + mmLines·mmHoldUs
 *                        + wakeHoldUs + walkPerWaiterUs + wakeupUs + 4·wqLines·lineCcxUs
 *                      (the model places the vCPU and its reader on two CPUs, as the real run's threads are:
 *                      both wake-ups are onto an idle CPU. A wake-up's latency counts from the start of its
 *                      notify, so the walk's notify is off the path: the vCPU runs before the reader's notify
 *                      returns; the fault's notify is on it only when longer than the reader's wake-up, since
 *                      the reader's read then waits for fd_wqh)
 *                      (4 wait-queue locks change hands per fault: fault_pending_wqh at the enqueue and at the read,
 *                      fd_wqh at the fault's wake_up_poll and at the read; the reader's wake-up runs while the
 *                      faulter still holds fd_wqh, so the read waits for the longer of the two). What is left is the
 *                      woken vCPU's side: leaving Atomics.wait, handle_userfault's tail, the refault and spte install.
 *
 *
 * Either residual below its floor is replaced by the floor, and the progress lines say so: 0 for
 * exitUs; for faultRetryUs the directly measured refault (the retry cannot be cheaper than the
 * refault it runs).
 */
export function derive(m: Measured, say: (s: string) => void, cpus = 2): Omit<CostProfile, 'source'> {
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
  // The notifies are fields of their own (per kind of wake-up); the hold times are without them.
  const fdWakePerEntryUs = Math.max(0, wq.fdWake.slope);
  const wakeHoldUs = Math.max(0, wq.wakeMatched - Math.max(0, wq.walk.slope));
  const wakeupUs = m.wake.wakeUs;
  const notifyUs = Math.max(0, m.wake.notifyUs - wq.notifyIdle);
  const window = m.poll.us > 0 && m.poll.short.length > 0;
  const wakeupPollUs = window ? median(m.poll.short.map((x) => x.wake)) : wakeupUs;
  const notifyPollUs = window ? Math.max(0, median(m.poll.short.map((x) => x.notify)) - wq.notifyIdle) : notifyUs;
  const uffdRest = faultEntryUs + enqueueHoldUs + fp.mustWait + Math.max(wakeupUs, fdWakeHoldUs + fdWakePerEntryUs + notifyUs) + readHoldUs + refileHoldUs +
    readerSyscallUs + continueUs + mm + wakeHoldUs + walkPerWaiterUs + wakeupUs + 4 * wqHandoffUs;
  const exitRest = faultEntryUs + claimUs + continueUs + mm + reenterUs;
  const exitUs = real.exitAvg - exitRest;
  const retry = real.uffdP50 - uffdRest;
  const faultRetryUs = Math.max(fp.install, retry);
  const wakePlacement = m.migrationsPerWake < HOME_CPU_MIGRATIONS ? 'home-cpu' as const : 'idle-cpu' as const;
  const costs = {
    guestUs: Math.max(0, real.guestUs), faultEntryUs, enqueueHoldUs, mustWaitUs: fp.mustWait, fdWakeHoldUs, fdWakePerEntryUs,
    wakeupUs, wakeupPollUs, haltPollUs: window ? m.poll.us : 0, wakeupCv: m.spread, wakePlacement,
    sleepUs: m.switches.sleepUs, lockSpinUs: m.spinUs,
    notifyUs, notifyPollUs, notifyBusyUs: Math.max(0, m.switches.notifyUs - wq.notifyIdle), notifyLocalUs: Math.max(0, m.local.notifyUs - wq.notifyIdle),
    readHoldUs, refileHoldUs, readerSyscallUs, continueUs, copyUs, wakeHoldUs, walkPerWaiterUs,
    lineSmtUs: lineUs, lineCcxUs: lineUs, lineCcdUs: lineUs, lineSocketUs: lineUs, wqLines: wqHandoffUs / lineUs,
    handoffPerWaiterUs: 0, faultRetryUs, exitUs: Math.max(0, exitUs),
    claimUs, reenterUs, mmLines, mmHoldUs,
    sockets: 1, ccxPerSocket: 1, coresPerCcx: Math.max(1, cpus), threadsPerCore: 1, placement: 'compact' as const,
    // log2(2) = 1: the slow-down with both CPUs busy, minus one.
    cpuContention: Math.max(0, m.contention.two / m.contention.one - 1),
  };
  say(`wake-up placement: ${Number.isFinite(m.migrationsPerWake) ? `${m.migrationsPerWake.toFixed(4)} migrations per wake-up` : 'migrations not exposed by this kernel'} → ${wakePlacement}`);
  say(`exit path: mean ${f3(real.exitAvg)} µs (p50 ${f3(real.exitP50)} µs) = components ${f3(exitRest)} µs + exitUs ${f3(exitUs)} µs${exitUs < 0 ? ' (negative: set to 0)' : ''}`);
  say(`uffd path: p50 ${f3(real.uffdP50)} µs = components ${f3(uffdRest)} µs + faultRetryUs ${f3(retry)} µs${retry < fp.install ? ` (below the measured refault ${f3(fp.install)} µs: set to it)` : ''}`);
  return costs;
}
