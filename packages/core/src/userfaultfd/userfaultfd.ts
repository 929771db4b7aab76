/**
 * The userfaultfd file (fs/userfaultfd.c's ioctls and read/poll) over a context in shared memory:
 * any thread can fault on it, read it, wait on it or resolve pages through it.
 */
import { check, KvmError } from '../errors.js';
import { HostMemory, type HostMemoryHandle, hex } from '../host/host-memory.js';
import { PAGE_SIZE, TASK_SIZE_MAX } from '../uapi.js';
import { C_API_DONE, C_CONTINUES, C_COPIES, C_EEXIST, C_ZEROPAGES } from './layout.js';
import { UffdCtx, type UffdStats } from './ctx.js';
import {
  _UFFDIO_CONTINUE, UFFD_API, UFFD_API_FEATURES, UFFD_API_IOCTLS, UFFD_API_RANGE_IOCTLS, UFFD_API_RANGE_IOCTLS_BASIC, UFFD_FEATURE_EXACT_ADDRESS,
  UFFD_FEATURE_THREAD_ID, UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, UFFDIO_REGISTER_MODE_WP,
  type UffdMsg,
} from './uapi.js';

/** Everything another thread needs to use a userfaultfd: structured-cloneable. */
export interface UserfaultfdHandle {
  kind: 'vcpu-rt/userfaultfd';
  host: HostMemoryHandle;
  ctx: number;
  /** The opening of the context slot this handle belongs to. */
  gen: number;
}

/** Options of userfaultfd(2). */
export interface UserfaultfdOptions {
  /** O_NONBLOCK: read() with nothing pending is EAGAIN. */
  nonBlocking?: boolean;
}

/** Options of wait() (how this reader parks on fd_wqh). */
export interface UffdWaitOptions {
  /** WQ_FLAG_EXCLUSIVE (EPOLLEXCLUSIVE / Peter Xu's exclusive read waits): a fault wakes one such reader, not all. */
  exclusive?: boolean;
}

/** Page-aligned, non-empty, below TASK_SIZE_MAX; checked without closures (COPY and CONTINUE are on the exit path). */
function checkRange(op: string, start: number, len: number): void {
  if (!Number.isSafeInteger(start) || start < 0) throw new KvmError('EINVAL', `${op}: start must be a non-negative integer (got ${String(start)})`);
  if (!Number.isSafeInteger(len) || len <= 0) throw new KvmError('EINVAL', `${op}: len must be a positive integer (got ${String(len)})`);
  if (start % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0) throw new KvmError('EINVAL', `${op}: [${hex(start)}, +${len}) is not page aligned`);
  if (start + len > TASK_SIZE_MAX) throw new KvmError('EINVAL', `${op}: range ends past TASK_SIZE_MAX`);
}

/**
 * checkRange on a range given in pages (`first` = start / PAGE_SIZE): the integer test passes every
 * valid range without a call; anything else is re-checked as bytes for the message.
 */
function checkPages(op: string, first: number, pages: number): void {
  if (Number.isInteger(first) && first >= 0 && Number.isInteger(pages) && pages > 0 && first + pages <= TASK_SIZE_MAX / PAGE_SIZE) return;
  checkRange(op, first * PAGE_SIZE, pages * PAGE_SIZE);
}

/** A userfaultfd: UFFDIO_API, REGISTER, UNREGISTER, COPY, ZEROPAGE, CONTINUE, WAKE, read, poll, close. */
export class Userfaultfd {
  private readonly ctx: UffdCtx;
  private closed = false;
  private readonly gen: number;

  /** @internal use HostMemory.userfaultfd or attachUserfaultfd */
  constructor(readonly host: HostMemory, readonly id: number, gen?: number) {
    this.ctx = host.uffd.ctx(id);
    this.gen = gen ?? this.ctx.gen;
  }

  /** userfaultfd(2) on `host`: a new context. ENOMEM when UFFD_MAX_CTX are open. */
  static open(host: HostMemory, options: UserfaultfdOptions = {}): Userfaultfd {
    const c = UffdCtx.open(host.uffd.i32, options.nonBlocking === true);
    check(c >= 0, 'ENOMEM', 'userfaultfd: every context of this address space is open (UFFD_MAX_CTX)');
    return new Userfaultfd(host, c);
  }

  private live(op: string): void {
    if (this.closed || !this.ctx.open || this.ctx.released || this.ctx.gen !== this.gen) throw new KvmError('EINVAL', `${op}: the userfaultfd is closed`);
  }

  private ready(op: string): void {
    this.live(op);
    if ((this.ctx.state & C_API_DONE) === 0) throw new KvmError('EINVAL', `${op}: UFFDIO_API must come first`);
  }

  /** UFFDIO_API: once, before anything else; unknown features are EINVAL. */
  api(features = 0): { features: number; ioctls: number } {
    this.live('UFFDIO_API');
    check((this.ctx.state & C_API_DONE) === 0, 'EINVAL', 'UFFDIO_API: already called on this userfaultfd');
    // A u64: bits 32-52 count too (a JS `&` would drop them).
    check(Number.isSafeInteger(features) && features >= 0 && (BigInt(features) & ~BigInt(UFFD_API_FEATURES)) === 0n, 'EINVAL',
      () => `UFFDIO_API: features 0x${features.toString(16)} include some this kernel does not have (0x${UFFD_API_FEATURES.toString(16)})`);
    this.ctx.setApi(features);
    return { features: UFFD_API_FEATURES, ioctls: UFFD_API_IOCTLS };
  }

  /** The API version UFFDIO_API speaks. */
  static get apiVersion(): number {
    return UFFD_API;
  }

  /** UFFDIO_REGISTER: mode MISSING and/or MINOR (WP is EINVAL here); returns the range ioctls. */
  register(start: number, len: number, mode: number): { ioctls: number } {
    this.ready('UFFDIO_REGISTER');
    check(Number.isSafeInteger(mode) && mode > 0 && (BigInt(mode) & ~BigInt(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR)) === 0n,
      'EINVAL', () => `UFFDIO_REGISTER: mode must be a non-empty set of MISSING | WP | MINOR (got ${String(mode)})`);
    check((mode & UFFDIO_REGISTER_MODE_WP) === 0, 'EINVAL', 'UFFDIO_REGISTER: write-protect mode is not modelled');
    checkRange('UFFDIO_REGISTER', start, len);
    this.host.uffdRegister(this.id, start, start + len, mode);
    const ioctls = mode & UFFDIO_REGISTER_MODE_MINOR || this.isShmem(start) ? UFFD_API_RANGE_IOCTLS_BASIC : UFFD_API_RANGE_IOCTLS;
    // "CONTINUE ioctl is only supported for MINOR ranges": the kernel masks it out of the others.
    return { ioctls: mode & UFFDIO_REGISTER_MODE_MINOR ? ioctls : ioctls - (ioctls & 2 ** _UFFDIO_CONTINUE) };
  }

  private isShmem(start: number): boolean {
    const v = this.host.vmaDetails().find((x) => x.start <= start && start < x.end);
    return v !== undefined && v.file !== 0;
  }

  /** UFFDIO_UNREGISTER: the range must be mapped; its waiters are woken to fault again without the uffd. */
  unregister(start: number, len: number): void {
    this.ready('UFFDIO_UNREGISTER');
    checkRange('UFFDIO_UNREGISTER', start, len);
    if (this.host.uffdUnregister(this.id, start, start + len)) this.ctx.wake(start, len);
  }

  /** read(2): up to `max` messages, oldest first; never blocks. A non-blocking uffd with none is EAGAIN. */
  read(max = 1): UffdMsg[] {
    this.ready('read');
    check(Number.isInteger(max) && max >= 1, 'EINVAL', () => `read: max must be a positive integer (got ${String(max)})`);
    const exact = (this.ctx.features & UFFD_FEATURE_EXACT_ADDRESS) !== 0;
    const tid = (this.ctx.features & UFFD_FEATURE_THREAD_ID) !== 0;
    const out: UffdMsg[] = [];
    while (out.length < max) {
      const m = this.ctx.readOne(exact);
      if (!m) break;
      if (!tid) m.tid = 0;
      out.push(m);
    }
    check(out.length > 0 || !this.ctx.nonBlocking, 'EAGAIN', 'read: no fault is pending on this non-blocking userfaultfd');
    return out;
  }

  /** poll(2)/epoll_wait: blocks the calling thread until a message is pending or `timeoutMs` passes; true if readable. */
  wait(timeoutMs = Infinity, options: UffdWaitOptions = {}): boolean {
    this.ready('poll');
    check(typeof timeoutMs === 'number' && timeoutMs >= 0, 'EINVAL', () => `poll: timeout must be a number of ms >= 0 (got ${String(timeoutMs)})`);
    return this.ctx.pollWait(this.host.uffd.record(), timeoutMs, options.exclusive === true);
  }

  /** Is a message pending (poll with a zero timeout, lockless)? */
  readable(): boolean {
    this.ready('poll');
    return this.ctx.readable();
  }

  /**
   * UFFDIO_COPY: `len` bytes of `src` from `srcOffset` into new pages at `dst`, then wakes the
   * faulters of the range unless DONTWAKE. Returns bytes copied. EEXIST (waking no one) when the
   * first page is present; EAGAIN after waking the part copied when a later page is.
   */
  copy(dst: number, src: Uint8Array, mode = 0, srcOffset = 0, len = src.length - srcOffset): number {
    if (!(src instanceof Uint8Array)) throw new KvmError('EINVAL', 'UFFDIO_COPY: src must be a Uint8Array');
    if (typeof dst !== 'number' || typeof len !== 'number') checkRange('UFFDIO_COPY', dst, len);
    // In pages from here on: an hva is above 2^31 and would be boxed at each call not inlined.
    return this.mfill('UFFDIO_COPY', 'copy', dst / PAGE_SIZE, len / PAGE_SIZE, mode, src, srcOffset, C_COPIES);
  }

  /** UFFDIO_ZEROPAGE: zero-filled pages over [start, start + len) of an anonymous registration. */
  zeropage(start: number, len: number, mode = 0): number {
    if (typeof start !== 'number' || typeof len !== 'number') checkRange('UFFDIO_ZEROPAGE', start, len);
    return this.mfill('UFFDIO_ZEROPAGE', 'zeropage', start / PAGE_SIZE, len / PAGE_SIZE, mode, undefined, 0, C_ZEROPAGES);
  }

  /** UFFDIO_CONTINUE: maps the page-cache pages of a MINOR registration over [start, start + len). */
  continue(start: number, len: number, mode = 0): number {
    if (typeof start !== 'number' || typeof len !== 'number') checkRange('UFFDIO_CONTINUE', start, len);
    return this.mfill('UFFDIO_CONTINUE', 'continue', start / PAGE_SIZE, len / PAGE_SIZE, mode, undefined, 0, C_CONTINUES);
  }

  /** The three mfill ioctls over `pages` pages from page number `first`; returns bytes done. */
  private mfill(name: string, op: 'copy' | 'zeropage' | 'continue', first: number, pages: number, mode: number, src: Uint8Array | undefined, srcOff: number, counter: number): number {
    this.ready(name);
    checkPages(name, first, pages);
    if (mode !== 0 && mode !== UFFDIO_COPY_MODE_DONTWAKE) throw new KvmError('EINVAL', `${name}: mode must be 0 or DONTWAKE (got ${String(mode)})`);
    // A source too short for len fails before any page is filled: a page filled but never woken would hang its faulter.
    if (src !== undefined && !(srcOff >= 0 && srcOff + pages * PAGE_SIZE <= src.length)) {
      throw new KvmError('EFAULT', `${name}: source [${srcOff}, ${srcOff + pages * PAGE_SIZE}) is outside the ${src.length}-byte buffer`);
    }
    const done = this.host.mfillAtomic(this.id, op, first, pages, src, srcOff);
    const err = this.host.mfillError;
    if (done > 0) {
      this.ctx.count(counter, done);
      if (!(mode & UFFDIO_COPY_MODE_DONTWAKE)) this.ctx.wake(first * PAGE_SIZE, done * PAGE_SIZE);
    }
    if (err === '') return done * PAGE_SIZE;
    if (err === 'EEXIST') this.ctx.count(C_EEXIST);
    const at = (first + done) * PAGE_SIZE;
    if (done > 0) throw new KvmError('EAGAIN', `${name}: ${done * PAGE_SIZE} of ${pages * PAGE_SIZE} bytes done; the page at ${hex(at)} failed with ${err}`);
    throw new KvmError(err, mfillMessage(name, err, at));
  }

  /** UFFDIO_WAKE: wakes the threads blocked on faults in [start, start + len). */
  wake(start: number, len: number): void {
    this.ready('UFFDIO_WAKE');
    checkRange('UFFDIO_WAKE', start, len);
    this.ctx.wake(start, len);
  }

  /** Lock, wake-walk, queue and resolution counters. */
  stats(): UffdStats {
    // Still readable after close(), until another userfaultfd reopens the slot.
    if (this.ctx.gen !== this.gen) throw new KvmError('EINVAL', 'stats: this userfaultfd was closed and its slot belongs to another now');
    return this.ctx.stats();
  }

  /** The structured-cloneable handle (attachUserfaultfd in another thread). */
  handle(): UserfaultfdHandle {
    return { kind: 'vcpu-rt/userfaultfd', host: this.host.handle(), ctx: this.id, gen: this.gen };
  }

  /**
   * close(2), the last reference (userfaultfd_release): the context is released, its ranges are
   * unregistered, and every waiter is woken: blocked faults fail (EFAULT for KVM and host
   * accessors, SIGBUS for a process), readers return. Closing twice is a no-op.
   */
  close(): void {
    if (this.closed || !this.ctx.open || this.ctx.released || this.ctx.gen !== this.gen) {
      this.closed = true;
      return;
    }
    this.closed = true;
    this.ctx.release();
    this.host.uffdUnregisterAll(this.id);
    this.ctx.free();
  }
}

function mfillMessage(name: string, err: string, at: number): string {
  switch (err) {
    case 'EEXIST': return `${name}: the page at ${hex(at)} is already present (nobody was woken)`;
    case 'ENOENT': return `${name}: ${hex(at)} is not in a range registered with this userfaultfd`;
    case 'EFAULT': return `${name}: the page cache has no page at ${hex(at)} to map`;
    case 'EINVAL': return `${name}: not allowed on the registration at ${hex(at)} (CONTINUE needs MINOR on a memfd; ZEROPAGE needs anonymous memory)`;
    default: return `${name}: failed at ${hex(at)} with ${err}`;
  }
}

/**
 * In any thread: the userfaultfd whose handle() was posted here. Pass `host`, this thread's view of
 * the same address space (VmView.host), so that faults and resolutions share its per-thread state.
 */
export function attachUserfaultfd(handle: UserfaultfdHandle, host?: HostMemory): Userfaultfd {
  check(!!handle && handle.kind === 'vcpu-rt/userfaultfd', 'EINVAL', 'attachUserfaultfd: not a UserfaultfdHandle');
  return new Userfaultfd(host ?? HostMemory.attach(handle.host), handle.ctx, handle.gen);
}
