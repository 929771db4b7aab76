/**
 * struct userfaultfd_ctx: the kernel side of one userfaultfd, every step in fs/userfaultfd.c's order
 * and with its locks: handle_userfault's enqueue and sleep, userfaultfd_ctx_read's refile,
 * userfaultfd_poll's wait on fd_wqh, and __wake_userfault's walk of every blocked waiter.
 */
import {
  C_API_DONE, C_CONTINUES, C_GEN, C_COPIES, C_EEXIST, C_FAULT_PENDING_WQH, C_FAULT_WQH, C_FAULTS, C_FD_WQH, C_FEATURES, C_IN_USE,
  C_MSGS, C_NONBLOCK, C_READER_WAKEUPS, C_REFILE_SEQ, C_RELEASED, C_STATE, C_WAKE, C_WAKE_SKIPPED, C_WOKEN, C_ZEROPAGES,
  ctxBase, HDR_CTX_HWM, Q_FAULT, Q_FD, Q_NONE, Q_PENDING, R_ADDRESS_F64, R_CTX, R_EXCLUSIVE, R_FLAGS, R_QUEUE, R_RELEASED,
  R_NEXT, R_PREV, R_TID, R_WAKEN, R_WOKEN, recBase, UFFD_MAX_CTX, UFFD_MAX_WAITERS, W_MAX_WALKED, W_WALKED_F64, W_WALKS, WQ_ACQ, WQ_CONTENDED, WQ_MAX,
  WQ_WAIT_MS_F64,
} from './layout.js';
import { UFFD_EVENT_PAGEFAULT, type UffdMsg } from './uapi.js';
import { WaitQueueHead } from './wait-queue.js';

/** How long close() waits for a wait-queue lock before it takes it over (its holder was killed). */
export const RELEASE_LOCK_MS = 1000;

/** One lock's counters. */
export interface UffdLockStats {
  /** Times the lock was taken. */
  acquisitions: number;
  /** Times a taker found it held. */
  contended: number;
  /** Time takers spent waiting for it, in µs. */
  waitUs: number;
}

/** A context's counters (docs/api.md `stats()`). */
export interface UffdStats {
  /** The three wait-queue locks, in the kernel's lock order. */
  locks: { fdWqh: UffdLockStats; faultPendingWqh: UffdLockStats; faultWqh: UffdLockStats };
  /** Threads that entered handle_userfault and queued a message. */
  faults: number;
  /** Messages read. */
  messages: number;
  /** Readers woken on fd_wqh. */
  readerWakeups: number;
  /** Range walks of the fault queues (__wake_userfault), the waiters they visited, and the threads they woke. */
  wakes: { walks: number; skipped: number; walked: number; meanWalked: number; maxWalked: number; woken: number };
  /** Queue lengths now and their maxima. */
  queues: { pending: number; fault: number; readers: number; maxPending: number; maxFault: number; maxReaders: number };
  /** Pages UFFDIO_COPY / ZEROPAGE / CONTINUE resolved, and calls that found the page present. */
  copies: number;
  zeropages: number;
  continues: number;
  eexist: number;
}

/** The kernel-side state of userfaultfd context `c`, as seen from the calling thread. */
export class UffdCtx {
  readonly base: number;
  readonly fdWqh: WaitQueueHead;
  readonly faultPendingWqh: WaitQueueHead;
  readonly faultWqh: WaitQueueHead;

  constructor(private readonly i32: Int32Array, private readonly f64: Float64Array, readonly c: number) {
    this.base = ctxBase(c);
    this.fdWqh = new WaitQueueHead(i32, f64, this.base + C_FD_WQH, Q_FD);
    this.faultPendingWqh = new WaitQueueHead(i32, f64, this.base + C_FAULT_PENDING_WQH, Q_PENDING);
    this.faultWqh = new WaitQueueHead(i32, f64, this.base + C_FAULT_WQH, Q_FAULT);
  }

  /** Claims a free context (userfaultfd(2)); -1 if all UFFD_MAX_CTX are open. */
  static open(i32: Int32Array, nonBlock: boolean): number {
    for (let c = 0; c < UFFD_MAX_CTX; c++) {
      const b = ctxBase(c);
      if (Atomics.compareExchange(i32, b + C_IN_USE, 0, 1) !== 0) continue;
      // A fresh context: zero everything but the claim word, count the opening, then publish the high-water mark.
      const gen = i32[b + C_GEN] + 1;
      i32.fill(0, b + 1, ctxBase(c + 1));
      Atomics.store(i32, b + C_GEN, gen);
      for (const q of [C_FD_WQH, C_FAULT_PENDING_WQH, C_FAULT_WQH]) i32[b + q + 1] = i32[b + q + 2] = -1;
      Atomics.store(i32, b + C_NONBLOCK, nonBlock ? 1 : 0);
      let hwm = Atomics.load(i32, HDR_CTX_HWM);
      while (hwm < c + 1) {
        const seen = Atomics.compareExchange(i32, HDR_CTX_HWM, hwm, c + 1);
        if (seen === hwm) break;
        hwm = seen;
      }
      return c;
    }
    return -1;
  }

  get state(): number { return Atomics.load(this.i32, this.base + C_STATE); }
  get features(): number { return Atomics.load(this.i32, this.base + C_FEATURES); }
  get nonBlocking(): boolean { return Atomics.load(this.i32, this.base + C_NONBLOCK) !== 0; }
  get released(): boolean { return (this.state & C_RELEASED) !== 0; }
  get open(): boolean { return Atomics.load(this.i32, this.base + C_IN_USE) !== 0; }
  /** Which opening of the slot this is (C_GEN). */
  get gen(): number { return Atomics.load(this.i32, this.base + C_GEN); }

  /** UFFDIO_API: records the features. */
  setApi(features: number): void {
    Atomics.store(this.i32, this.base + C_FEATURES, features);
    Atomics.or(this.i32, this.base + C_STATE, C_API_DONE);
  }

  /** Adds 1 to counter `word` (C_EEXIST, C_COPIES, ...). */
  count(word: number, n = 1): void {
    Atomics.add(this.i32, this.base + word, n);
  }

  /**
   * handle_userfault, first half: fills the waiter record and queues it on fault_pending_wqh under
   * its lock. The caller then re-checks the page (userfaultfd_must_wait) and either dequeues or
   * wakes the readers and sleeps.
   */
  enqueue(r: number, address: number, flags: number, tid: number): void {
    const rb = recBase(r);
    const i32 = this.i32;
    Atomics.store(i32, rb + R_WAKEN, 0);
    i32[rb + R_CTX] = this.c;
    i32[rb + R_FLAGS] = flags;
    i32[rb + R_TID] = tid;
    this.f64[rb / 2 + R_ADDRESS_F64] = address;
    const q = this.faultPendingWqh;
    q.lock();
    q.add(r);
    q.unlock();
    Atomics.add(i32, this.base + C_FAULTS, 1);
  }

  /**
   * The end of handle_userfault: if the record is still queued (it was not woken by a walk, which
   * removes what it wakes), unlink it under fault_pending_wqh.lock, with fault_wqh.lock for a
   * refiled entry (the kernel's list_empty_careful check, then list_del).
   */
  dequeue(r: number): void {
    const i32 = this.i32;
    const rb = recBase(r);
    if (Atomics.load(i32, rb + R_QUEUE) === Q_NONE) return;
    this.faultPendingWqh.lock();
    this.faultWqh.lock();
    const q = Atomics.load(i32, rb + R_QUEUE);
    if (q === Q_PENDING) this.faultPendingWqh.del(r);
    else if (q === Q_FAULT) this.faultWqh.del(r);
    this.faultWqh.unlock();
    this.faultPendingWqh.unlock();
  }

  /**
   * wake_up_poll(&ctx->fd_wqh, EPOLLIN): under fd_wqh.lock, __wake_up_common with nr_exclusive 1:
   * every non-exclusive reader is woken (today's kernel: a thundering herd), and the walk stops
   * after the first exclusive one (Peter Xu's exclusive wake-ups).
   */
  wakeReaders(): void {
    const q = this.fdWqh;
    q.lock();
    let r = q.first();
    while (r >= 0) {
      const next = q.next(r);
      const rb = recBase(r);
      const exclusive = this.i32[rb + R_EXCLUSIVE] !== 0;
      q.del(r);
      Atomics.store(this.i32, rb + R_WAKEN, R_WOKEN);
      Atomics.notify(this.i32, rb + R_WAKEN, 1);
      Atomics.add(this.i32, this.base + C_READER_WAKEUPS, 1);
      if (exclusive) break;
      r = next;
    }
    q.unlock();
  }

  /** Is a message waiting to be read (userfaultfd_poll's lockless waitqueue_active)? */
  readable(): boolean {
    return this.faultPendingWqh.active();
  }

  /**
   * The poll side of a reader: queue record `r` on fd_wqh (exclusive or not), re-check for pending
   * messages, then sleep until a fault wakes it or `timeoutMs` passes. Returns whether a message
   * is pending. The re-check after queueing closes the window in which a fault's wake would miss us.
   */
  pollWait(r: number, timeoutMs: number, exclusive: boolean): boolean {
    if (this.readable()) return true;
    const i32 = this.i32;
    const rb = recBase(r);
    Atomics.store(i32, rb + R_WAKEN, 0);
    i32[rb + R_CTX] = this.c;
    i32[rb + R_EXCLUSIVE] = exclusive ? 1 : 0;
    const q = this.fdWqh;
    q.lock();
    // Exclusive waiters go to the tail (add_wait_queue_exclusive): a wake meets every non-exclusive one first.
    if (exclusive) q.addTail(r);
    else q.add(r);
    q.unlock();
    if (!this.readable() && !this.released) Atomics.wait(i32, rb + R_WAKEN, 0, timeoutMs);
    if (Atomics.load(i32, rb + R_QUEUE) !== Q_NONE) {
      q.lock();
      if (Atomics.load(i32, rb + R_QUEUE) === Q_FD) q.del(r);
      q.unlock();
    }
    return this.readable();
  }

  /**
   * userfaultfd_ctx_read for one message: under fd_wqh.lock then fault_pending_wqh.lock, takes the
   * oldest pending entry, refiles it to fault_wqh (taking fault_wqh.lock, inside a refile_seq
   * write section) and returns its message; undefined if none is pending.
   */
  readOne(exactAddress: boolean): UffdMsg | undefined {
    const i32 = this.i32;
    this.fdWqh.lock();
    this.faultPendingWqh.lock();
    let msg: UffdMsg | undefined;
    const r = this.faultPendingWqh.oldest();
    if (r >= 0) {
      const rb = recBase(r);
      const address = this.f64[rb / 2 + R_ADDRESS_F64];
      msg = { event: UFFD_EVENT_PAGEFAULT, flags: i32[rb + R_FLAGS], address: exactAddress ? address : address - (address % 4096), tid: i32[rb + R_TID] };
      Atomics.add(i32, this.base + C_REFILE_SEQ, 1);
      this.faultPendingWqh.del(r);
      this.faultWqh.lock();
      this.faultWqh.add(r);
      this.faultWqh.unlock();
      Atomics.add(i32, this.base + C_REFILE_SEQ, 1);
      Atomics.add(i32, this.base + C_MSGS, 1);
    }
    this.faultPendingWqh.unlock();
    this.fdWqh.unlock();
    return msg;
  }

  /**
   * wake_userfault: a lockless look at both fault queues (retried while read() refiles an entry),
   * then, if anyone waits, __wake_userfault: under fault_pending_wqh.lock, every entry of
   * fault_pending_wqh and then of fault_wqh (under its lock too) is visited and range-checked
   * (userfaultfd_wake_function), with no early exit: the cost is O(blocked waiters).
   */
  wake(start: number, len: number): void {
    const i32 = this.i32;
    let active: boolean;
    for (;;) {
      const seq = Atomics.load(i32, this.base + C_REFILE_SEQ);
      active = this.faultPendingWqh.active() || this.faultWqh.active();
      if ((seq & 1) === 0 && Atomics.load(i32, this.base + C_REFILE_SEQ) === seq) break;
    }
    if (!active) {
      Atomics.add(i32, this.base + C_WAKE_SKIPPED, 1);
      return;
    }
    const end = start + len;
    const p = this.faultPendingWqh;
    p.lock();
    let walked = this.walk(p, start, end);
    if (this.faultWqh.active()) {
      this.faultWqh.lock();
      walked += this.walk(this.faultWqh, start, end);
      this.faultWqh.unlock();
    }
    const w = this.base + C_WAKE;
    i32[w + W_WALKS]++;
    this.f64[w / 2 + W_WALKED_F64] += walked;
    if (walked > i32[w + W_MAX_WALKED]) i32[w + W_MAX_WALKED] = walked;
    p.unlock();
  }

  /** __wake_up_common over one list: wakes and removes the entries in [start, end); returns entries visited. */
  private walk(q: WaitQueueHead, start: number, end: number): number {
    const i32 = this.i32;
    let visited = 0;
    let r = q.first();
    while (r >= 0) {
      const next = q.next(r);
      visited++;
      const rb = recBase(r);
      const a = this.f64[rb / 2 + R_ADDRESS_F64];
      if (a >= start && a < end) {
        q.del(r);
        Atomics.store(i32, rb + R_WAKEN, R_WOKEN);
        Atomics.notify(i32, rb + R_WAKEN, 1);
        Atomics.add(i32, this.base + C_WOKEN, 1);
      }
      r = next;
    }
    return visited;
  }

  /**
   * userfaultfd_release: marks the context released and wakes every waiter of both fault queues
   * (they fail their fault) and every reader on fd_wqh. The waiters are found by scanning the
   * records, not by walking the lists, and a lock still held after RELEASE_LOCK_MS is taken over:
   * a thread terminated while it held a wait-queue lock (or was relinking an entry) must not make
   * close() hang. Returns how many locks had to be taken over.
   */
  release(): number {
    const i32 = this.i32;
    Atomics.or(i32, this.base + C_STATE, C_RELEASED);
    const heads = [this.fdWqh, this.faultPendingWqh, this.faultWqh];
    let broken = 0;
    for (const q of heads) if (!q.lockForRelease(RELEASE_LOCK_MS)) broken++;
    try {
      for (let r = 0; r < UFFD_MAX_WAITERS; r++) {
        const rb = recBase(r);
        if (Atomics.load(i32, rb + R_QUEUE) === Q_NONE || i32[rb + R_CTX] !== this.c) continue;
        i32[rb + R_NEXT] = i32[rb + R_PREV] = -1;
        Atomics.store(i32, rb + R_QUEUE, Q_NONE);
        Atomics.store(i32, rb + R_WAKEN, R_RELEASED);
        Atomics.notify(i32, rb + R_WAKEN, 1);
      }
      for (const q of heads) q.reset();
    } finally {
      for (let k = heads.length - 1; k >= 0; k--) heads[k].unlock();
    }
    return broken;
  }

  /** Frees the context slot once nothing refers to it any more. */
  free(): void {
    Atomics.store(this.i32, this.base + C_IN_USE, 0);
  }

  /** The counters. */
  stats(): UffdStats {
    const i32 = this.i32;
    const b = this.base;
    const lock = (q: WaitQueueHead): UffdLockStats => ({
      acquisitions: i32[q.base + WQ_ACQ] >>> 0, contended: i32[q.base + WQ_CONTENDED] >>> 0, waitUs: this.f64[q.base / 2 + WQ_WAIT_MS_F64] * 1000,
    });
    const w = b + C_WAKE;
    const walks = i32[w + W_WALKS] >>> 0;
    const walked = this.f64[w / 2 + W_WALKED_F64];
    return {
      locks: { fdWqh: lock(this.fdWqh), faultPendingWqh: lock(this.faultPendingWqh), faultWqh: lock(this.faultWqh) },
      faults: i32[b + C_FAULTS] >>> 0,
      messages: i32[b + C_MSGS] >>> 0,
      readerWakeups: i32[b + C_READER_WAKEUPS] >>> 0,
      wakes: { walks, skipped: i32[b + C_WAKE_SKIPPED] >>> 0, walked, meanWalked: walks ? walked / walks : 0, maxWalked: i32[w + W_MAX_WALKED], woken: i32[b + C_WOKEN] >>> 0 },
      queues: {
        pending: this.faultPendingWqh.count(), fault: this.faultWqh.count(), readers: this.fdWqh.count(),
        maxPending: i32[this.faultPendingWqh.base + WQ_MAX], maxFault: i32[this.faultWqh.base + WQ_MAX], maxReaders: i32[this.fdWqh.base + WQ_MAX],
      },
      copies: i32[b + C_COPIES] >>> 0, zeropages: i32[b + C_ZEROPAGES] >>> 0, continues: i32[b + C_CONTINUES] >>> 0, eexist: i32[b + C_EEXIST] >>> 0,
    };
  }
}

/** Adds the counters of `b` to `a` (several uffds, one report); maxima take the larger. */
export function sumUffdStats(list: readonly UffdStats[]): UffdStats {
  const z = (): UffdLockStats => ({ acquisitions: 0, contended: 0, waitUs: 0 });
  const out: UffdStats = {
    locks: { fdWqh: z(), faultPendingWqh: z(), faultWqh: z() }, faults: 0, messages: 0, readerWakeups: 0,
    wakes: { walks: 0, skipped: 0, walked: 0, meanWalked: 0, maxWalked: 0, woken: 0 },
    queues: { pending: 0, fault: 0, readers: 0, maxPending: 0, maxFault: 0, maxReaders: 0 }, copies: 0, zeropages: 0, continues: 0, eexist: 0,
  };
  for (const s of list) {
    for (const k of ['fdWqh', 'faultPendingWqh', 'faultWqh'] as const) {
      out.locks[k].acquisitions += s.locks[k].acquisitions;
      out.locks[k].contended += s.locks[k].contended;
      out.locks[k].waitUs += s.locks[k].waitUs;
    }
    out.faults += s.faults; out.messages += s.messages; out.readerWakeups += s.readerWakeups;
    out.wakes.walks += s.wakes.walks; out.wakes.skipped += s.wakes.skipped; out.wakes.walked += s.wakes.walked; out.wakes.woken += s.wakes.woken;
    out.wakes.maxWalked = Math.max(out.wakes.maxWalked, s.wakes.maxWalked);
    out.queues.pending += s.queues.pending; out.queues.fault += s.queues.fault; out.queues.readers += s.queues.readers;
    out.queues.maxPending = Math.max(out.queues.maxPending, s.queues.maxPending);
    out.queues.maxFault = Math.max(out.queues.maxFault, s.queues.maxFault);
    out.queues.maxReaders = Math.max(out.queues.maxReaders, s.queues.maxReaders);
    out.copies += s.copies; out.zeropages += s.zeropages; out.continues += s.continues; out.eexist += s.eexist;
  }
  out.wakes.meanWalked = out.wakes.walks ? out.wakes.walked / out.wakes.walks : 0;
  return out;
}
