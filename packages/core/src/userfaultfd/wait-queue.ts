/**
 * wait_queue_head_t in a SharedArrayBuffer: a lock word and an intrusive doubly linked list of waiter
 * records (kernel/sched/wait.c). The lock counts its acquisitions, contended acquisitions and the
 * time spent waiting, under itself, so that contention is a number rather than a guess.
 */
import { SabMutex } from '../sync/mutex.js';
import {
  R_NEXT, R_PREV, R_QUEUE, Q_NONE, recBase, WQ_ACQ, WQ_CONTENDED, WQ_COUNT, WQ_HEAD, WQ_LOCK, WQ_MAX, WQ_TAIL, WQ_WAIT_MS_F64,
} from './layout.js';

/** One wait-queue head at Int32 index `base` of the uffd buffer. */
export class WaitQueueHead {
  private readonly mutex: SabMutex;
  private readonly waitMs: number;

  constructor(private readonly i32: Int32Array, private readonly f64: Float64Array, readonly base: number, readonly queue: number) {
    this.mutex = new SabMutex(i32, base + WQ_LOCK);
    this.waitMs = base / 2 + WQ_WAIT_MS_F64;
  }

  /** spin_lock(&wq_head->lock), counting contention. Spins briefly, then sleeps: see docs/userfaultfd.md §3. */
  lock(): void {
    const i32 = this.i32;
    if (this.mutex.tryLock()) {
      i32[this.base + WQ_ACQ]++;
      return;
    }
    const t0 = performance.now();
    this.mutex.lock();
    i32[this.base + WQ_ACQ]++;
    i32[this.base + WQ_CONTENDED]++;
    this.f64[this.waitMs] += performance.now() - t0;
  }

  /**
   * The lock for userfaultfd_release: taken within `timeoutMs`, or else taken over. A kernel
   * spinlock holder cannot be killed; a worker thread can be terminated while it holds this lock,
   * and close() must still finish. Returns false when it had to take the lock over.
   */
  lockForRelease(timeoutMs: number): boolean {
    if (this.mutex.lockWithin(timeoutMs)) {
      this.i32[this.base + WQ_ACQ]++;
      return true;
    }
    Atomics.store(this.i32, this.base + WQ_LOCK, 2);
    return false;
  }

  /** Empties the list without walking it (its links may be torn by a thread killed mid-update). Caller holds the lock. */
  reset(): void {
    this.i32[this.base + WQ_HEAD] = this.i32[this.base + WQ_TAIL] = -1;
    Atomics.store(this.i32, this.base + WQ_COUNT, 0);
  }

  /** spin_unlock. */
  unlock(): void {
    this.mutex.unlock();
  }

  /** waitqueue_active: is any entry queued? Lockless, like the kernel's. */
  active(): boolean {
    return Atomics.load(this.i32, this.base + WQ_COUNT) !== 0;
  }

  /** Entries queued now. */
  count(): number {
    return Atomics.load(this.i32, this.base + WQ_COUNT);
  }

  /** __add_wait_queue: links record `r` at the head (newest). Caller holds the lock. */
  add(r: number): void {
    const i32 = this.i32;
    const rb = recBase(r);
    const head = i32[this.base + WQ_HEAD];
    i32[rb + R_NEXT] = head;
    i32[rb + R_PREV] = -1;
    if (head >= 0) i32[recBase(head) + R_PREV] = r;
    else i32[this.base + WQ_TAIL] = r;
    i32[this.base + WQ_HEAD] = r;
    this.counted(rb);
  }

  /**
   * __add_wait_queue_entry_tail (add_wait_queue_exclusive): links record `r` at the tail (oldest
   * end), after every non-exclusive entry, so a walk from the head wakes those first. Caller holds the lock.
   */
  addTail(r: number): void {
    const i32 = this.i32;
    const rb = recBase(r);
    const tail = i32[this.base + WQ_TAIL];
    i32[rb + R_PREV] = tail;
    i32[rb + R_NEXT] = -1;
    if (tail >= 0) i32[recBase(tail) + R_NEXT] = r;
    else i32[this.base + WQ_HEAD] = r;
    i32[this.base + WQ_TAIL] = r;
    this.counted(rb);
  }

  /** Marks the record at `rb` as on this list and counts it. */
  private counted(rb: number): void {
    const i32 = this.i32;
    Atomics.store(i32, rb + R_QUEUE, this.queue);
    const n = i32[this.base + WQ_COUNT] + 1;
    Atomics.store(i32, this.base + WQ_COUNT, n);
    if (n > i32[this.base + WQ_MAX]) i32[this.base + WQ_MAX] = n;
  }

  /** list_del_init: unlinks record `r`, which is on this list. Caller holds the lock. */
  del(r: number): void {
    const i32 = this.i32;
    const rb = recBase(r);
    const next = i32[rb + R_NEXT];
    const prev = i32[rb + R_PREV];
    if (prev >= 0) i32[recBase(prev) + R_NEXT] = next;
    else i32[this.base + WQ_HEAD] = next;
    if (next >= 0) i32[recBase(next) + R_PREV] = prev;
    else i32[this.base + WQ_TAIL] = prev;
    i32[rb + R_NEXT] = i32[rb + R_PREV] = -1;
    Atomics.store(i32, rb + R_QUEUE, Q_NONE);
    Atomics.store(i32, this.base + WQ_COUNT, i32[this.base + WQ_COUNT] - 1);
  }

  /** The oldest entry (list_last_entry), -1 if empty. Caller holds the lock. */
  oldest(): number {
    return this.i32[this.base + WQ_TAIL];
  }

  /** The newest entry, -1 if empty; walk on with next(). Caller holds the lock. */
  first(): number {
    return this.i32[this.base + WQ_HEAD];
  }

  /** The entry after `r` (towards the oldest), -1 at the end. Caller holds the lock. */
  next(r: number): number {
    return this.i32[recBase(r) + R_NEXT];
  }
}
