/**
 * The migration source as a faulting thread sees it: the snapshot of guest memory, and a fetch
 * that costs `fetchLatencyUs` — the round trip of a demand request over the network, a named,
 * reported parameter (0 = the page is already local, as in demand_paging_test).
 */

const FETCHES = 0;
const FETCH_US = 1; // µs spent in fetch, summed (Atomics.add of whole µs)
/** Int32 words of a PageServer's counters. */
export const PAGE_SERVER_STAT_WORDS = 16;
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
  private readonly latencyUs: number;

  constructor(readonly h: PageServerHandle) {
    this.bytes = new Uint8Array(h.snapshot);
    this.stats = new Int32Array(h.stats);
    this.latencyUs = h.fetchLatencyUs;
  }

  /** Requests page `p` and returns its byte offset in `bytes` once it has "arrived" (holdUs of the latency). */
  fetch(p: number): number {
    if (this.latencyUs > 0) Atomics.add(this.stats, FETCH_US, Math.round(holdUs(this.latencyUs)));
    Atomics.add(this.stats, FETCHES, 1);
    return p * 4096;
  }
}

/** The counters of every PageServer of one run: fetches and the mean time a fetch took. */
export function pageServerStats(stats: SharedArrayBuffer): { fetches: number; meanFetchUs: number } {
  const s = new Int32Array(stats);
  const n = Atomics.load(s, FETCHES);
  return { fetches: n, meanFetchUs: n ? Atomics.load(s, FETCH_US) / n : 0 };
}
