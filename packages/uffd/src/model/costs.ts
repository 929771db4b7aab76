/**
 * The costs the model charges, each a named field with its unit and where its value comes from.
 * `published` is for table A's host (256-core AMD EPYC 7B13): priors from reference §5 and the
 * table-A fit of §6.2, with the fitted numbers marked as such; `measured` comes from
 * `vcpu-rt model calibrate` on this machine.
 */

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
  /** A blocked thread's wake-up: from try_to_wake_up to running (off-CPU). */
  wakeupUs: number;
  /**
   * A second, slow mode of wake-ups (a CPU the host of a virtual machine has descheduled while it
   * idled): this long, for `wakeupSlowShare` of the wake-ups (0 = none).
   */
  wakeupSlowUs: number;
  /** The share of wake-ups in the slow mode, in [0, 1]. */
  wakeupSlowShare: number;
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
  /** … plus this per waiter visited on fault_pending_wqh and fault_wqh (one remote cache miss each). */
  walkPerWaiterUs: number;
  /** A shared cache line moving to another CPU: an mm-wide line taken by another thread than its last owner. */
  handoffUs: number;
  /**
   * A userfaultfd wait-queue lock moving to another CPU, with the list lines its holder then
   * touches (the head, its neighbours, waiter entries on other threads' stacks).
   */
  wqHandoffUs: number;
  /** What each further waiter on a contended lock or line adds to its hand-off (requests queued at the line's home). */
  handoffPerWaiterUs: number;
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
  /** mm-wide shared cache lines every resolution touches (mmap_lock's count, page-cache and memcg lines), count. */
  mmLines: number;
  /** … each held this long per touch. */
  mmHoldUs: number;
}

/** Fields that are counts rather than µs. */
const COUNT_FIELDS: ReadonlySet<string> = new Set(['mmLines']);
/** Fields that are neither µs nor counts. */
const UNITLESS_FIELDS: ReadonlySet<string> = new Set(['wakeupSlowShare', 'cpuContention']);

/** The names of every cost field, in declaration order. */
export const COST_FIELDS = [
  'guestUs', 'faultEntryUs', 'enqueueHoldUs', 'mustWaitUs', 'fdWakeHoldUs', 'fdWakePerEntryUs', 'wakeupUs', 'wakeupSlowUs', 'wakeupSlowShare', 'readHoldUs',
  'refileHoldUs', 'readerSyscallUs', 'continueUs', 'copyUs', 'wakeHoldUs', 'walkPerWaiterUs', 'handoffUs', 'wqHandoffUs', 'handoffPerWaiterUs', 'faultRetryUs',
  'exitUs', 'claimUs', 'reenterUs', 'cpuContention', 'mmLines', 'mmHoldUs',
] as const satisfies readonly (keyof CostProfile)[];

/**
 * Table A's host. Sources: [K3] = table A; [X2] = Zen 3 core-to-core latencies (15–19 ns in a CCX,
 * up to 79.5 ns across CCDs); §6.2 = the least-squares fits of the reference notes. FITTED marks a
 * value chosen so that the model meets table A (nothing else was fitted to); see docs/model.md.
 */
export const PUBLISHED_COSTS: CostProfile = {
  source: 'published: table A host (256-core AMD EPYC 7B13); priors of reference §5 and §6.2, the rest FITTED to table A (docs/model.md)',
  guestUs: 0.05, // prior: memstress's loop is a few instructions per page
  faultEntryUs: 0.225, // FITTED (uffd rows)
  enqueueHoldUs: 1.18, // FITTED (uffd rows)
  mustWaitUs: 0.1, // prior: one PTE walk
  fdWakeHoldUs: 0.3, // prior
  fdWakePerEntryUs: 0.0795, // prior [X2]: one cross-CCD miss per entry visited
  wakeupUs: 0.8, // prior: a wake-up on an idle core of a busy host; FITTED values below 0.5 µs were refused as unphysical
  wakeupSlowUs: 0.8, // bare metal: one mode
  wakeupSlowShare: 0,
  readHoldUs: 1.0, // FITTED (uffd rows)
  refileHoldUs: 0.2, // prior
  readerSyscallUs: 0.5, // prior: read() + epoll_wait entry/exit
  continueUs: 0.084, // FITTED (exit rows)
  copyUs: 1.2, // prior: allocate + 4 KiB copy + PTE (not used by table A, which is MINOR)
  wakeHoldUs: 1.33, // FITTED (uffd rows)
  walkPerWaiterUs: 0.083, // §6.2: the slope of 1/X_uffd(N) = 6.3 µs + 0.083 µs·N, ≈ one cross-CCD miss [X2]
  handoffUs: 0.0795, // prior [X2]: cross-CCD cache-line transfer
  wqHandoffUs: 0.375, // FITTED (uffd rows)
  handoffPerWaiterUs: 0, // not used by the published profile
  faultRetryUs: 0.075, // FITTED (uffd rows)
  exitUs: 2.43, // FITTED (exit rows)
  claimUs: 0.05, // prior: one CAS
  reenterUs: 1.06, // FITTED (exit rows)
  cpuContention: 0, // FITTED
  mmLines: 7, // FITTED (exit rows)
  mmHoldUs: 0.177, // FITTED (exit rows); with handoffUs, 1 / (mmHoldUs + handoffUs) ≈ 3.9 M/s, table A's exit ceiling
};

/** Checks a profile read from a file; the error names the field and the rule. */
export function checkCostProfile(raw: unknown, where = 'cost profile'): CostProfile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${where}: must be a JSON object of costs`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'source' && !(COST_FIELDS as readonly string[]).includes(k)) throw new TypeError(`${where}: '${k}' is not a cost (costs: ${COST_FIELDS.join(', ')})`);
  }
  for (const k of COST_FIELDS) {
    const v = o[k];
    if (v === undefined) throw new TypeError(`${where}: '${k}' is missing`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`${where}: '${k}' must be a finite number >= 0 (got ${JSON.stringify(v)})`);
    if (COUNT_FIELDS.has(k) && !Number.isInteger(v)) throw new TypeError(`${where}: '${k}' is a count and must be an integer (got ${v})`);
    if (k === 'wakeupSlowShare' && v > 1) throw new TypeError(`${where}: 'wakeupSlowShare' is a share and must be in [0, 1] (got ${v})`);
    if (!COUNT_FIELDS.has(k) && !UNITLESS_FIELDS.has(k) && v > 1e6) throw new TypeError(`${where}: '${k}' must be at most 1e6 µs (got ${v})`);
  }
  if (o.source !== undefined && typeof o.source !== 'string') throw new TypeError(`${where}: 'source' must be a string`);
  return { ...(o as unknown as CostProfile), source: (o.source as string | undefined) ?? where };
}
