/**
 * The migration source as a faulting thread sees it: the snapshot of guest memory, and a fetch
 * that costs `fetchLatencyUs` — the round trip of a demand request over the network, a named,
 * reported parameter (0 = the page is already local, as in demand_paging_test).
 */

// One cache line of counters per thread, so that counting costs no cache-line transfer.
const FETCHES = 0;
const FETCH_US = 1; // µs spent in fetch, summed (whole µs)
const LINE = 16;
/** Threads that may fetch in one run, each with its own line of counters. */
export const PAGE_SERVER_THREADS = 1024;
/** Int32 words of the counters of every PageServer of a run. */
export const PAGE_SERVER_STAT_WORDS = PAGE_SERVER_THREADS * LINE;
/** Below this, a sleep in Atomics.wait overshoots by more than the wait itself (measured: ~80 µs for 10 µs). */
const SLEEP_SLACK_US = 150;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Keeps the calling thread away for `us` µs: off the CPU for most of it (Atomics.wait, like a thread
 * blocked in recv or usleep), polling the clock for the last SLEEP_SLACK_US, because a timed
 * Atomics.wait overshoots by about 100 µs here. Returns the µs it took.
 */
export function holdUs(us: number): number {
  const t0 = performance.now();
  const due = t0 + us / 1000;
  const sleepMs = (us - SLEEP_SLACK_US) / 1000;
  if (sleepMs > 0) Atomics.wait(sleeper, 0, 0, sleepMs);
  let now = performance.now();
  while (now < due) now = performance.now();
  return (now - t0) * 1000;
}

/** What a PageServer needs in any thread: structured-cloneable. */
export interface PageServerHandle {
  /** The source's guest memory, page after page. */
  snapshot: SharedArrayBuffer;
  /** Counters shared by every thread's PageServer. */
  stats: SharedArrayBuffer;
  fetchLatencyUs: number;
}

/** Fetches pages from the source snapshot, one thread's view. Allocation-free. */
export class PageServer {
  /** The snapshot as bytes: page `p` is [p * 4096, (p + 1) * 4096). */
  readonly bytes: Uint8Array;
  private readonly stats: Int32Array;
  private readonly line: number;
  private readonly latencyUs: number;

  /** `thread`: this thread's number in the run (its line of counters), below PAGE_SERVER_THREADS. */
  constructor(readonly h: PageServerHandle, thread: number) {
    if (!Number.isInteger(thread) || thread < 0 || thread >= PAGE_SERVER_THREADS) throw new RangeError(`PageServer: thread must be an integer in [0, ${PAGE_SERVER_THREADS})`);
    this.bytes = new Uint8Array(h.snapshot);
    this.stats = new Int32Array(h.stats);
    this.line = thread * LINE;
    this.latencyUs = h.fetchLatencyUs;
  }

  /** Requests page `p` and returns its byte offset in `bytes` once it has "arrived" (holdUs of the latency). */
  fetch(p: number): number {
    if (this.latencyUs > 0) Atomics.add(this.stats, this.line + FETCH_US, Math.round(holdUs(this.latencyUs)));
    Atomics.add(this.stats, this.line + FETCHES, 1);
    return p * 4096;
  }
}

/** The counters of every PageServer of one run: fetches and the mean time a fetch took. */
export function pageServerStats(stats: SharedArrayBuffer): { fetches: number; meanFetchUs: number } {
  const s = new Int32Array(stats);
  let n = 0;
  let us = 0;
  for (let l = 0; l < s.length; l += LINE) {
    n += Atomics.load(s, l + FETCHES);
    us += Atomics.load(s, l + FETCH_US);
  }
  return { fetches: n, meanFetchUs: n ? us / n : 0 };
}
