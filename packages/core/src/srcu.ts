/**
 * Sleepable RCU for the memslot sets, modelled on tree SRCU (kernel/rcu/srcutree.c) with one pair of
 * lock/unlock counters per reader thread instead of per CPU. Layout and ordering: docs/srcu.md.
 */

/** Readers that can be registered at once (threads that attach the VM). */
export const SRCU_MAX_READERS = 512;

const IDX = 0; // srcu_idx: bit 0 selects the counter pair new readers use
const WAKE_SEQ = 1; // bumped by a reader's unlock when a writer sleeps
const WRITER_WAITING = 2; // synchronize() calls that may sleep: readers' unlocks wake them
const READER_HWM = 3; // one past the highest reader slot ever registered
const HEADER_WORDS = 16;
/** How long synchronize spins on the counters before it sleeps. */
const SPIN_MS = 0.05;
const READER_WORDS = 16; // one 64-byte line per reader: no false sharing between threads
const R_IN_USE = 0;
const R_LOCK = 1; // +idx
const R_UNLOCK = 3; // +idx

/** Bytes of the SharedArrayBuffer that holds an Srcu. */
export const SRCU_BYTES = (HEADER_WORDS + SRCU_MAX_READERS * READER_WORDS) * 4;

/** One thread's read side: lock/unlock counters in its own cache line. */
export class SrcuReader {
  /** @internal */
  constructor(private readonly w: Int32Array, private readonly base: number) {}

  /** This reader's line in the domain (for Srcu.reclaim after its thread died). */
  get slot(): number {
    return (this.base - HEADER_WORDS) / READER_WORDS;
  }

  /** srcu_read_lock(): returns the index to pass to unlock. */
  lock(): number {
    const idx = Atomics.load(this.w, IDX) & 1;
    Atomics.add(this.w, this.base + R_LOCK + idx, 1);
    return idx;
  }

  /** srcu_read_unlock(idx): may run long after lock, but on the same reader. */
  unlock(idx: number): void {
    const w = this.w;
    Atomics.add(w, this.base + R_UNLOCK + idx, 1);
    if (Atomics.load(w, WRITER_WAITING) !== 0) {
      Atomics.add(w, WAKE_SEQ, 1);
      Atomics.notify(w, WAKE_SEQ);
    }
  }

  /** Read-side critical sections this reader is inside (both indexes). */
  nesting(): number {
    const w = this.w;
    const b = this.base;
    return (Atomics.load(w, b + R_LOCK) - Atomics.load(w, b + R_UNLOCK) +
      Atomics.load(w, b + R_LOCK + 1) - Atomics.load(w, b + R_UNLOCK + 1)) | 0;
  }

  /** Gives the reader slot back; the counters stay balanced, so sums are unaffected. */
  release(): void {
    if (this.nesting() !== 0) throw new Error('srcu: releasing a reader inside a read-side critical section');
    Atomics.store(this.w, this.base + R_IN_USE, 0);
  }
}

/** The SRCU domain (kvm->srcu), shared by every thread that attaches the VM. */
export class Srcu {
  readonly buffer: SharedArrayBuffer;
  private readonly w: Int32Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(SRCU_BYTES);
    this.w = new Int32Array(this.buffer);
  }

  /** Registers the calling thread as a reader (a vCPU's ____srcu_idx home). */
  registerReader(): SrcuReader {
    const w = this.w;
    for (let r = 0; r < SRCU_MAX_READERS; r++) {
      const base = HEADER_WORDS + r * READER_WORDS;
      if (Atomics.compareExchange(w, base + R_IN_USE, 0, 1) === 0) {
        let hwm = Atomics.load(w, READER_HWM);
        while (hwm < r + 1) {
          const seen = Atomics.compareExchange(w, READER_HWM, hwm, r + 1);
          if (seen === hwm) break;
          hwm = seen;
        }
        return new SrcuReader(w, base);
      }
    }
    throw new Error(`srcu: more than ${SRCU_MAX_READERS} reader threads`);
  }

  /**
   * Gives back the line of a reader whose thread died without releasing it: its open read-side
   * sections are counted as ended (as for a CPU that went offline). Only for a dead owner.
   */
  reclaim(slot: number): void {
    const w = this.w;
    const base = HEADER_WORDS + slot * READER_WORDS;
    for (let idx = 0; idx < 2; idx++) {
      const open = (Atomics.load(w, base + R_LOCK + idx) - Atomics.load(w, base + R_UNLOCK + idx)) | 0;
      if (open !== 0) Atomics.add(w, base + R_UNLOCK + idx, open);
    }
    Atomics.store(w, base + R_IN_USE, 0);
    Atomics.add(w, WAKE_SEQ, 1);
    Atomics.notify(w, WAKE_SEQ);
  }

  /**
   * synchronize_srcu_expedited(): returns once every read-side critical section that began before
   * the call has ended. Must not be called from inside a read-side critical section of this domain.
   */
  synchronize(): void {
    const idx = Atomics.load(this.w, IDX) & 1;
    // SCAN1: readers still on the other index came from before the previous flip; let them drain
    // so that after the flip both indexes only count readers that saw our updates or will leave.
    this.waitDrained(idx ^ 1);
    Atomics.add(this.w, IDX, 1); // srcu_flip
    // SCAN2: every reader that entered before the flip used `idx`.
    this.waitDrained(idx);
  }

  /** srcu_readers_active_idx_check until true: Σunlock read before Σlock, so a reader that
   * slips in after the unlock scan is counted in the lock sum and keeps us waiting. */
  private waitDrained(idx: number): void {
    if (this.drained(idx)) return;
    // Read-side sections are short (a lookup, a fault): spin first, as the expedited grace period
    // does, because a futex wake-up costs more than most sections last.
    const spinUntil = performance.now() + SPIN_MS;
    do {
      for (let i = 0; i < 16; i++) if (this.drained(idx)) return;
    } while (performance.now() < spinUntil);
    const w = this.w;
    Atomics.add(w, WRITER_WAITING, 1);
    try {
      for (;;) {
        const seq = Atomics.load(w, WAKE_SEQ);
        // Re-check after publishing WRITER_WAITING: an unlock that missed it is visible here.
        if (this.drained(idx)) return;
        Atomics.wait(w, WAKE_SEQ, seq, 1); // the bound is a safety net, not a correctness need
      }
    } finally {
      Atomics.sub(w, WRITER_WAITING, 1);
    }
  }

  private drained(idx: number): boolean {
    const w = this.w;
    const hwm = Atomics.load(w, READER_HWM);
    let unlocks = 0;
    for (let r = 0; r < hwm; r++) unlocks = (unlocks + Atomics.load(w, HEADER_WORDS + r * READER_WORDS + R_UNLOCK + idx)) | 0;
    let locks = 0;
    for (let r = 0; r < hwm; r++) locks = (locks + Atomics.load(w, HEADER_WORDS + r * READER_WORDS + R_LOCK + idx)) | 0;
    return locks === unlocks;
  }
}
