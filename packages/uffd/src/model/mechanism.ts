/**
 * The mechanism, step by step with the kernel's names, as simulated threads: vCPUs that fault
 * through their pages, and (uffd path) reader threads. It mirrors what the real threads of
 * demand-paging.ts do through @vcpu-rt/core; docs/model.md draws the event graph.
 */
import type { CostProfile } from './costs.js';
import { SimLock, type HandoffCost, type SleepingLock } from './lock.js';
import type { Sim, SimThread, Step, Wakeup } from './sim.js';

/**
 * `waker` wakes `th`, a blocked thread, with the wake-up latency env.wakeup gives, counted from the start
 * of the waker's notify (as calibrate measures it: Atomics.notify called → the sleeper running);
 * returns the notify's cost, which the waker then spends.
 */
function wakeUp(env: MechanismEnv, th: SimThread, waker: SimThread): number {
  const w = env.wakeup(th, waker);
  env.sim.wake(th, w.latencyUs);
  return w.notifyUs;
}

const cpu = (us: number): Step => ({ k: 'cpu', us });
const delay = (us: number): Step => ({ k: 'delay', us });
const lock = (l: SimLock): Step => ({ k: 'lock', lock: l });
const unlock = (l: SimLock): Step => ({ k: 'unlock', lock: l });
const BLOCK: Step = { k: 'block' };

/** The simulated state of one userfaultfd context. */
export class SimUffd {
  readonly fdWqh: SimLock;
  readonly faultPendingWqh: SimLock;
  readonly faultWqh: SimLock;
  /** fault_pending_wqh, oldest first. */
  readonly pending: SimThread[] = [];
  /** fault_wqh (read, not yet woken). */
  readonly fault = new Set<SimThread>();
  /** Readers parked on fd_wqh. */
  readonly parked: SimThread[] = [];
  walks = 0;
  walked = 0;
  maxWalked = 0;
  woken = 0;
  readerWakeups = 0;
  faults = 0;
  messages = 0;
  resolutions = 0;
  maxPending = 0;
  maxFault = 0;

  /** `handoff`: what moving one of its wait-queue locks (with the list lines) between two threads costs; `sleeping`: how its waiters sleep. */
  constructor(sim: Sim, readonly id: number, handoff: HandoffCost, perWaiterUs: number, sleeping?: SleepingLock) {
    this.fdWqh = new SimLock(`uffd${id}.fd_wqh`, sim, handoff, perWaiterUs, sleeping);
    this.faultPendingWqh = new SimLock(`uffd${id}.fault_pending_wqh`, sim, handoff, perWaiterUs, sleeping);
    this.faultWqh = new SimLock(`uffd${id}.fault_wqh`, sim, handoff, perWaiterUs, sleeping);
  }
}

/** What every simulated thread of a run shares. */
export interface MechanismEnv {
  sim: Sim;
  c: CostProfile;
  mode: 'missing' | 'minor';
  fetchUs: number;
  /** demand_paging_test -d: µs a reader waits (off the CPU) before serving each message. */
  handlerDelayUs: number;
  /** Reader wake-ups on fd_wqh: every parked reader, or the first (exclusive). */
  wake: 'all' | 'exclusive';
  /** The mm-wide shared lines. */
  mm: SimLock[];
  /** Set when every vCPU is done: readers leave. */
  stop: { done: boolean };
  /** Simulated time each vCPU finished. */
  finished: number[];
  /** Per vCPU, [start, end] µs of each fault (as the real guest's timeline). */
  timelines: Float64Array[];
  /** A thread's wake-up (model.ts: wakeupPollUs or wakeupUs when its CPU is idle, by how long it slept; none when it must wait for its CPU) and its notify's cost. */
  wakeup: Wakeup;
}

/** Touches each mm-wide shared line once (mfill_atomic's mmap_read_lock, page cache, memcg). */
function* mmShared(env: MechanismEnv): Generator<Step, void, void> {
  for (const l of env.mm) yield { k: 'touch', lock: l, us: env.c.mmHoldUs };
}

/** The resolution of one page: UFFDIO_CONTINUE or UFFDIO_COPY, and the mm-wide lines it touches. */
function* resolve(env: MechanismEnv): Generator<Step, void, void> {
  yield cpu(env.mode === 'minor' ? env.c.continueUs : env.c.copyUs);
  yield* mmShared(env);
}

/** A vCPU of the uffd path: each page faults into handle_userfault and sleeps until a reader resolves it. */
export function* uffdVcpu(env: MechanismEnv, u: SimUffd, self: SimThread, index: number, pages: number): Generator<Step, void, void> {
  const c = env.c;
  const tl = env.timelines[index];
  for (let p = 0; p < pages; p++) {
    yield cpu(c.guestUs);
    tl[2 * p] = env.sim.now;
    yield cpu(c.faultEntryUs);
    // handle_userfault: queue the waiter under fault_pending_wqh.lock.
    yield lock(u.faultPendingWqh);
    yield cpu(c.enqueueHoldUs);
    u.pending.push(self);
    u.faults++;
    if (u.pending.length > u.maxPending) u.maxPending = u.pending.length;
    yield unlock(u.faultPendingWqh);
    yield cpu(c.mustWaitUs);
    // wake_up_poll(&ctx->fd_wqh, EPOLLIN): __wake_up_common with nr_exclusive 1.
    yield lock(u.fdWqh);
    // Parked readers are all woken (and removed) as they are visited: visited = woken.
    let visited = 0;
    let notify = 0;
    while (u.parked.length > 0) {
      notify += wakeUp(env, u.parked.shift()!, self);
      visited++;
      if (env.wake === 'exclusive') break;
    }
    u.readerWakeups += visited;
    yield cpu(c.fdWakeHoldUs + c.fdWakePerEntryUs * visited + notify);
    yield unlock(u.fdWqh);
    // schedule(): until a wake walk finds this waiter.
    yield BLOCK;
    yield cpu(c.faultRetryUs);
    tl[2 * p + 1] = env.sim.now;
  }
  env.finished[index] = env.sim.now;
}

/** A reader thread: epoll_wait → read → fetch → resolve (with the wake walk), until the run stops. */
export function* uffdReader(env: MechanismEnv, u: SimUffd, self: SimThread): Generator<Step, void, void> {
  const c = env.c;
  for (;;) {
    if (env.stop.done) return;
    if (u.pending.length === 0) {
      // userfaultfd_poll → poll_wait: add_wait_queue(&ctx->fd_wqh) under its lock, then the re-check.
      yield lock(u.fdWqh);
      yield cpu(c.enqueueHoldUs);
      u.parked.push(self);
      yield unlock(u.fdWqh);
      if (u.pending.length === 0) {
        yield BLOCK;
        continue;
      }
      // A fault came in meanwhile: no sleep; leave fd_wqh (unless that fault's wake already took us off).
      if (u.parked.includes(self)) {
        yield lock(u.fdWqh);
        const still = u.parked.indexOf(self);
        if (still >= 0) u.parked.splice(still, 1);
        yield unlock(u.fdWqh);
      } else {
        yield BLOCK; // woken already: returns at once (wokenEarly)
      }
    }
    // userfaultfd_ctx_read: fd_wqh.lock → fault_pending_wqh.lock → (refile) fault_wqh.lock.
    yield lock(u.fdWqh);
    yield lock(u.faultPendingWqh);
    yield cpu(c.readHoldUs);
    const v = u.pending.shift();
    if (v === undefined) {
      yield unlock(u.faultPendingWqh);
      yield unlock(u.fdWqh);
      continue; // another reader took it: EAGAIN
    }
    yield lock(u.faultWqh);
    yield cpu(c.refileHoldUs);
    u.fault.add(v);
    u.messages++;
    if (u.fault.size > u.maxFault) u.maxFault = u.fault.size;
    yield unlock(u.faultWqh);
    yield unlock(u.faultPendingWqh);
    yield unlock(u.fdWqh);
    yield cpu(c.readerSyscallUs);
    if (env.handlerDelayUs > 0) yield delay(env.handlerDelayUs);
    if (env.fetchUs > 0) yield delay(env.fetchUs);
    yield* resolve(env);
    u.resolutions++;
    // __wake_userfault: every waiter of both queues visited under fault_pending_wqh.lock.
    yield lock(u.faultPendingWqh);
    const walked = u.pending.length + u.fault.size;
    yield cpu(c.wakeHoldUs + c.walkPerWaiterUs * walked);
    u.walks++;
    u.walked += walked;
    if (walked > u.maxWalked) u.maxWalked = walked;
    if (u.fault.size > 0) {
      yield lock(u.faultWqh);
      u.fault.delete(v);
      yield unlock(u.faultWqh);
    }
    const notify = wakeUp(env, v, self);
    u.woken++;
    if (notify > 0) yield cpu(notify);
    yield unlock(u.faultPendingWqh);
  }
}

/** A vCPU of the exit path: exit, claim, fetch, resolve with DONTWAKE, re-enter. No wait queue. */
export function* exitVcpu(env: MechanismEnv, index: number, pages: number): Generator<Step, void, void> {
  const c = env.c;
  const tl = env.timelines[index];
  for (let p = 0; p < pages; p++) {
    yield cpu(c.guestUs);
    tl[2 * p] = env.sim.now;
    yield cpu(c.faultEntryUs + c.exitUs + c.claimUs);
    if (env.fetchUs > 0) yield delay(env.fetchUs);
    yield* resolve(env);
    yield cpu(c.reenterUs);
    tl[2 * p + 1] = env.sim.now;
  }
  env.finished[index] = env.sim.now;
}
