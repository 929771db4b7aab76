/**
 * The costs the model charges, each a named field with its unit and where its value comes from.
 * `published` is for table A's host (2 × AMD EPYC 7B13): priors from reference §5, §6.2 and
 * published core-to-core latencies, and the table-A fit, with the fitted numbers marked as such;
 * `measured` comes from `vcpu-rt model calibrate` on this machine.
 */

import { WAKE_PLACEMENTS, type WakePlacement } from './processors.js';
import { PLACEMENTS, type Placement } from './topology.js';

/** Every cost of the model, µs unless named otherwise. */
export interface CostProfile {
  /** Where the profile comes from (free text, reported). */
  source: string;
  /** Guest work per page besides the fault (memstress's loop and hit-path access). */
  guestUs: number;
  /** EPT violation to the point where KVM's GUP meets the missing page (kvm_tdp_page_fault … handle_userfault entry). */
  faultEntryUs: number;
  /** handle_userfault: fault_pending_wqh.lock held to queue the waiter (__add_wait_queue). */
  enqueueHoldUs: number;
  /** userfaultfd_must_wait: the PTE re-check after queueing. */
  mustWaitUs: number;
  /** wake_up_poll(&ctx->fd_wqh): fd_wqh.lock held, base. */
  fdWakeHoldUs: number;
  /** … plus this per fd_wqh entry visited. */
  fdWakePerEntryUs: number;
  /**
   * A blocked thread's wake-up onto an idle CPU: from try_to_wake_up to running (off-CPU), when
   * it has slept longer than haltPollUs. On a virtual machine the idle CPU is by then a halted
   * vCPU its host has descheduled, and this includes the host waking it.
   */
  wakeupUs: number;
  /** … when it has slept at most haltPollUs (on a virtual machine: while the host still polls the halted vCPU). */
  wakeupPollUs: number;
  /** How long a thread may sleep and still be woken in wakeupPollUs (1e6: always, bare metal). */
  haltPollUs: number;
  /** The spread of both wake-up latencies: each is drawn from a log-normal distribution with this coefficient of variation (0: always the value). A ratio. */
  wakeupCv: number;
  /**
   * Where a thread made runnable runs (processors.ts): 'idle-cpu', any idle CPU, as Linux's
   * select_idle_sibling finds one; 'home-cpu', always the CPU it started on, idle or busy (a guest
   * scheduler that keeps tasks on their vCPU; `vcpu-rt model calibrate` tells which).
   */
  wakePlacement: WakePlacement;
  /**
   * CPU a thread spends to sleep and run again, besides its waker's notify: the wait's entry
   * (futex_wait, schedule() switching it out) and its return (switched in, back from the wait).
   * Charged when a thread that slept runs again. The wake-up latencies above are what a thread
   * woken onto an idle CPU waits; a thread woken while every CPU is busy is runnable at once and
   * waits for a CPU among the others (processors.ts), so there only this cost remains.
   */
  sleepUs: number;
  /** userfaultfd_ctx_read: fault_pending_wqh.lock held to take the oldest message (fd_wqh.lock held around it). */
  readHoldUs: number;
  /** The refile: fault_wqh.lock held to move the entry to fault_wqh. */
  refileHoldUs: number;
  /** A reader's read()/epoll_wait syscall overhead per message, outside the locks. */
  readerSyscallUs: number;
  /** UFFDIO_CONTINUE: install the PTE of a page-cache page (mfill_atomic_pte_continue). */
  continueUs: number;
  /** UFFDIO_COPY: allocate a page, copy 4 KiB, install the PTE. */
  copyUs: number;
  /** __wake_userfault: fault_pending_wqh.lock held, base. */
  wakeHoldUs: number;
  /**
   * … plus this per waiter visited on fault_pending_wqh and fault_wqh, its record's cache miss
   * included (not priced by the topology: docs/model.md §7).
   */
  walkPerWaiterUs: number;
  /** A cache line moving between SMT siblings of one core (through their L1/L2). */
  lineSmtUs: number;
  /** A cache line moving between two cores of one CCX (through its L3). */
  lineCcxUs: number;
  /** A cache line moving between two CCXs (CCDs) of one socket (through the I/O die). */
  lineCcdUs: number;
  /** A cache line moving between the sockets. */
  lineSocketUs: number;
  /**
   * Lines that move with a userfaultfd wait-queue lock when another CPU takes it: the lock word
   * and the list lines its holder then writes (the head, the neighbouring entries on other
   * threads' stacks). A count of line transfers, fractional for a mean; each costs its level's line*Us.
   */
  wqLines: number;
  /** What each further waiter on a contended lock or line adds to its hand-off (requests queued at the line's home). */
  handoffPerWaiterUs: number;
  /**
   * A waiter for a userfaultfd wait-queue lock spins this long, then sleeps (the runtime's SabMutex:
   * a short spin, then futex_wait); a kernel spinlock never sleeps (1e6 µs: longer than any wait).
   */
  lockSpinUs: number;
  /**
   * What waking a sleeping thread costs its waker (Atomics.notify of a sleeper, futex_wake, the
   * IPI), beyond the wake-up walk's own fields, in the cases of the wake-up latencies: onto an idle
   * CPU after a sleep longer than haltPollUs (wakeupUs), after a shorter one (wakeupPollUs), and
   * when the thread's CPU is busy (it is queued there). Charged per thread woken, inside the
   * waker's hold (wake_up_poll, the wake walk) or at a sleeping lock's release. notifyLocalUs is the
   * busy case when the thread's CPU is the waker's own ('home-cpu'): no IPI.
   */
  notifyUs: number;
  notifyPollUs: number;
  notifyBusyUs: number;
  notifyLocalUs: number;
  /** The woken vCPU's retry: fault again, install the spte, re-enter the guest. */
  faultRetryUs: number;
  /** The exit path: KVM_RUN returns KVM_EXIT_MEMORY_FAULT and the VMM dispatches it. */
  exitUs: number;
  /** The exit path: the CAS that claims the page in the shared bitmap. */
  claimUs: number;
  /** The exit path: KVM_RUN again, the fault retried and the spte installed. */
  reenterUs: number;
  /**
   * Slow-down of CPU work per doubling of the busy CPUs (shared caches, memory and coherence
   * traffic): with b CPUs busy, work takes 1 + cpuContention × log2(b) times as long. A ratio.
   */
  cpuContention: number;
  /**
   * Touches of mm-wide shared cache lines per resolution, each modelled as a line of its own
   * (mmap_lock's count taken and dropped, mm_users, the uffd file's f_count, kvm->mmu_lock, VM-wide
   * stat counters, lines falsely shared with them), count.
   */
  mmLines: number;
  /** … each held this long per touch (the atomic and what the holder does before another CPU may take the line). */
  mmHoldUs: number;
  /** The host's sockets, CCXs per socket, cores per CCX and hardware threads per core (counts; topology.ts). */
  sockets: number;
  ccxPerSocket: number;
  coresPerCcx: number;
  threadsPerCore: number;
  /** Where the run's threads are placed on the host (topology.ts: compact or spread). */
  placement: Placement;
}

/** Fields that are counts rather than µs. */
const COUNT_FIELDS: ReadonlySet<string> = new Set(['mmLines', 'sockets', 'ccxPerSocket', 'coresPerCcx', 'threadsPerCore']);
/** Counts that must be at least 1 (a host has at least one of each). */
const POSITIVE_FIELDS: ReadonlySet<string> = new Set(['sockets', 'ccxPerSocket', 'coresPerCcx', 'threadsPerCore']);
/** Fields that are neither µs nor integer counts. */
const UNITLESS_FIELDS: ReadonlySet<string> = new Set(['cpuContention', 'wqLines', 'wakeupCv']);

/** The names of every cost field, in declaration order. */
export const COST_FIELDS = [
  'guestUs', 'faultEntryUs', 'enqueueHoldUs', 'mustWaitUs', 'fdWakeHoldUs', 'fdWakePerEntryUs', 'wakeupUs', 'wakeupPollUs', 'haltPollUs', 'wakeupCv', 'sleepUs', 'readHoldUs',
  'refileHoldUs', 'readerSyscallUs', 'continueUs', 'copyUs', 'wakeHoldUs', 'walkPerWaiterUs', 'lineSmtUs', 'lineCcxUs', 'lineCcdUs', 'lineSocketUs',
  'wqLines', 'handoffPerWaiterUs', 'lockSpinUs', 'notifyUs', 'notifyPollUs', 'notifyBusyUs', 'notifyLocalUs', 'faultRetryUs', 'exitUs', 'claimUs', 'reenterUs', 'cpuContention', 'mmLines', 'mmHoldUs',
  'sockets', 'ccxPerSocket', 'coresPerCcx', 'threadsPerCore',
] as const satisfies readonly (keyof CostProfile)[];

/** The fields that are not numbers. */
const OTHER_FIELDS: ReadonlySet<string> = new Set(['source', 'placement', 'wakePlacement']);

/**
 * Table A's host: 2 sockets of AMD EPYC 7B13 (Zen 3 "Milan", 64 cores in 8 CCDs of one 8-core CCX
 * each, SMT 2: the "256 cores" of [K3] are hardware threads; Milan runs at most two sockets).
 * Sources: [X5] = core-to-core latencies of a 2-socket AMD EPYC 7R13 (Milan), the median one-way
 * cache-line transfer between SMT siblings 9.8 ns, cores of a CCX 23 ns, CCDs 107 ns, sockets 197 ns
 * (nviennot/core-to-core-latency, README and results/AMD EPYC 7R13 48-Core Processor.csv);
 * §6.2 = the least-squares fit of the reference notes; "prior" = an order of magnitude of the
 * operation, no published figure. The FITTED fields are set by `vcpu-rt model fit` (fit-table-a.ts)
 * to table A's rows, each group to its own path's nine rows, and to nothing else (docs/model.md §5).
 */
export const PUBLISHED_PRIORS: Omit<CostProfile, 'source'> = {
  guestUs: 0.05, // prior: memstress's loop is a store and a few instructions per page
  faultEntryUs: 0.4, // prior: an EPT-violation #VMEXIT, kvm_tdp_page_fault and the GUP that meets the missing page
  enqueueHoldUs: 0.6, // FITTED (uffd rows); the search starts here
  mustWaitUs: 0.1, // prior: one PTE walk
  fdWakeHoldUs: 0.3, // prior
  fdWakePerEntryUs: 0.107, // [X5]: one cross-CCD miss per fd_wqh entry visited (the reader's entry is on its stack)
  wakeupUs: 0.8, // prior: try_to_wake_up to running on an idle core of a bare-metal host
  wakeupPollUs: 0.8, // bare metal: one kind
  haltPollUs: 1e6, // … whatever the sleep
  wakeupCv: 0, // the published wake-ups are part of the FITTED hold times: no spread of their own
  wakePlacement: 'idle-cpu', // Linux's select_idle_sibling
  sleepUs: 0, // table A's host never ran more runnable threads than CPUs for long; the sleep's CPU is in wakeupUs and the FITTED fields
  readHoldUs: 0.6, // FITTED (uffd rows); the search starts here
  refileHoldUs: 0.2, // prior
  readerSyscallUs: 0.5, // prior: read() + epoll_wait entry and exit
  continueUs: 0.3, // prior: UFFDIO_CONTINUE's ioctl, the page-cache lookup and the PTE (the mm lines are charged apart)
  copyUs: 1.2, // prior: allocate + 4 KiB copy + PTE (table A is MINOR: unused by the fit)
  wakeHoldUs: 0.6, // FITTED (uffd rows); the search starts here
  walkPerWaiterUs: 0.083, // FITTED (uffd rows); the search starts at §6.2's slope of 1/X_uffd(N) = 6.3 µs + 0.083 µs·N (N >= 16)
  lineSmtUs: 0.0098, // [X5]
  lineCcxUs: 0.023, // [X5]
  lineCcdUs: 0.107, // [X5]
  lineSocketUs: 0.197, // FITTED (exit rows); [X5]'s idle 197 ns is where the search starts
  wqLines: 5, // FITTED (uffd rows); the search starts at 5 (the lock word, the head, the neighbouring entries on other stacks, the ctx)
  handoffPerWaiterUs: 0, // unused: the exponential transfers (model.ts) already queue requests at a busy line
  lockSpinUs: 1e6, // the kernel's wait-queue locks are spinlocks: their waiters never sleep
  notifyUs: 0, // the published hold times (fdWakePerEntryUs, wakeHoldUs: FITTED and priors) include their notifies
  notifyPollUs: 0,
  notifyBusyUs: 0,
  notifyLocalUs: 0,
  faultRetryUs: 0, // FITTED: what the 1-vCPU uffd row (6.67 µs per fault) leaves once every other field is set
  exitUs: 0, // FITTED: what the 1-vCPU exit row (2.94 µs per fault) leaves once every other field is set
  claimUs: 0.05, // prior: one CAS
  reenterUs: 0.6, // prior: KVM_RUN, VMRUN, the refault that now finds the page, the SPTE, VMRUN
  cpuContention: 0, // bare metal with a hardware thread per busy thread: none
  mmLines: 16, // FITTED (exit rows)
  mmHoldUs: 0.05, // FITTED (exit rows)
  sockets: 2,
  ccxPerSocket: 8,
  coresPerCcx: 8,
  threadsPerCore: 2,
  placement: 'spread', // topology.ts: where fork balancing puts table A's unpinned threads
};

/** The fields `vcpu-rt model fit` sets, as it set them (fit-table-a.ts; docs/model.md §5). */
export const PUBLISHED_FIT = {
  // Stage 1, table A's exit rows.
  mmLines: 20, mmHoldUs: 0.06, lineSocketUs: 0.4, exitUs: 0.341,
  // Stage 2, table A's uffd rows.
  enqueueHoldUs: 0.861, readHoldUs: 0.641, wakeHoldUs: 0.461, wqLines: 5, walkPerWaiterUs: 0.0946, faultRetryUs: 0.0579,
} as const satisfies Partial<CostProfile>;

/** The published profile: the priors with the table-A fit. */
export const PUBLISHED_COSTS: CostProfile = {
  source: 'published: table A host (2 × AMD EPYC 7B13, 256 hardware threads); priors of reference §5, §6.2 and [X5], ' +
    'the rest FITTED to table A by `vcpu-rt model fit` (docs/model.md)',
  ...PUBLISHED_PRIORS,
  ...PUBLISHED_FIT,
};

/** Checks a profile read from a file; the error names the field and the rule. */
export function checkCostProfile(raw: unknown, where = 'cost profile'): CostProfile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${where}: must be a JSON object of costs`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OTHER_FIELDS.has(k) && !(COST_FIELDS as readonly string[]).includes(k)) throw new TypeError(`${where}: '${k}' is not a cost (costs: ${COST_FIELDS.join(', ')}, placement, wakePlacement)`);
  }
  for (const k of COST_FIELDS) {
    const v = o[k];
    if (v === undefined) throw new TypeError(`${where}: '${k}' is missing`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`${where}: '${k}' must be a finite number >= 0 (got ${JSON.stringify(v)})`);
    if (COUNT_FIELDS.has(k) && !Number.isInteger(v)) throw new TypeError(`${where}: '${k}' is a count and must be an integer (got ${v})`);
    if (POSITIVE_FIELDS.has(k) && (v < 1 || v > 4096)) throw new TypeError(`${where}: '${k}' is a count of the host's parts and must be in [1, 4096] (got ${v})`);
    if (!COUNT_FIELDS.has(k) && !UNITLESS_FIELDS.has(k) && v > 1e6) throw new TypeError(`${where}: '${k}' must be at most 1e6 µs (got ${v})`);
  }
  if (o.source !== undefined && typeof o.source !== 'string') throw new TypeError(`${where}: 'source' must be a string`);
  if (!(PLACEMENTS as readonly unknown[]).includes(o.placement)) throw new TypeError(`${where}: 'placement' must be one of ${PLACEMENTS.join(', ')} (got ${JSON.stringify(o.placement)})`);
  if (!(WAKE_PLACEMENTS as readonly unknown[]).includes(o.wakePlacement)) throw new TypeError(`${where}: 'wakePlacement' must be one of ${WAKE_PLACEMENTS.join(', ')} (got ${JSON.stringify(o.wakePlacement)})`);
  const threads = (o.sockets as number) * (o.ccxPerSocket as number) * (o.coresPerCcx as number) * (o.threadsPerCore as number);
  if (threads > 65536) throw new TypeError(`${where}: the topology has ${threads} hardware threads (sockets × ccxPerSocket × coresPerCcx × threadsPerCore); at most 65536`);
  return { ...(o as unknown as CostProfile), source: (o.source as string | undefined) ?? where };
}
