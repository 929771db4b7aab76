/**
 * One thread's view of an address space's userfaultfd buffer: the contexts it has touched and its
 * own waiter record (the kernel's userfaultfd_wait_queue lives on the faulting task's stack; here each
 * thread owns one record, used for one fault or one poll at a time).
 */
import { KvmError } from '../errors.js';
import { UffdCtx } from './ctx.js';
import { Q_FAULT, Q_FD, Q_NONE, Q_PENDING, R_CTX, R_IN_USE, R_QUEUE, recBase, UFFD_MAX_CTX, UFFD_MAX_WAITERS } from './layout.js';

/** The userfaultfd buffer as one thread sees it. */
export class UffdShared {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  private readonly ctxs: (UffdCtx | undefined)[] = new Array<UffdCtx | undefined>(UFFD_MAX_CTX);
  private rec = -1;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  /** Context `c` (created on first use in this thread, then reused: the fault path allocates nothing). */
  ctx(c: number): UffdCtx {
    return (this.ctxs[c] ??= new UffdCtx(this.i32, this.f64, c));
  }

  /** This thread's waiter record, claimed on first use. */
  record(): number {
    if (this.rec >= 0) return this.rec;
    for (let r = 0; r < UFFD_MAX_WAITERS; r++) {
      if (Atomics.compareExchange(this.i32, recBase(r) + R_IN_USE, 0, 1) === 0) {
        this.rec = r;
        return r;
      }
    }
    throw new KvmError('ENOMEM', `userfaultfd: more than ${UFFD_MAX_WAITERS} threads wait on userfaultfds of one address space`);
  }

  /**
   * Reclaims record `r` of a thread that died without giving it back: unlinked from whatever wait
   * queue it was on (under that context's locks), then freed.
   */
  reclaim(r: number): void {
    if (!Number.isInteger(r) || r < 0 || r >= UFFD_MAX_WAITERS) return;
    const rb = recBase(r);
    if (Atomics.load(this.i32, rb + R_QUEUE) !== Q_NONE) {
      const ctx = this.ctx(this.i32[rb + R_CTX]);
      ctx.fdWqh.lock();
      ctx.faultPendingWqh.lock();
      ctx.faultWqh.lock();
      const q = Atomics.load(this.i32, rb + R_QUEUE);
      if (q === Q_FD) ctx.fdWqh.del(r);
      else if (q === Q_PENDING) ctx.faultPendingWqh.del(r);
      else if (q === Q_FAULT) ctx.faultWqh.del(r);
      ctx.faultWqh.unlock();
      ctx.faultPendingWqh.unlock();
      ctx.fdWqh.unlock();
    }
    Atomics.store(this.i32, rb + R_IN_USE, 0);
  }

  /** Gives the record back (the thread is leaving). */
  release(): void {
    if (this.rec >= 0) Atomics.store(this.i32, recBase(this.rec) + R_IN_USE, 0);
    this.rec = -1;
  }
}
