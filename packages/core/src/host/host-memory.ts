/**
 * The VMM process's address space (struct mm_struct): VMAs, a page table and a pool of page frames,
 * all in SharedArrayBuffers so that any worker can read, write and fault pages in. Layout: docs/host-memory.md.
 */
import { KvmError, check } from '../errors.js';
import { SabMutex } from '../sync/mutex.js';
import { Srcu, type SrcuReader } from '../srcu.js';
import { PAGE_SIZE, TASK_SIZE_MAX } from '../uapi.js';
import type { MmuNotifier } from './mmu-notifier.js';
import { PageTable, PT_ENTRIES } from './page-table.js';
import { PageCaches, shmemBytes } from './shmem.js';
import { VMA_END, VMA_FIELDS, VMA_FILE, VMA_PGOFF, VMA_START, VMA_UFFD, VMA_UFFD_MODE, vmaClip, vmaCut, vmaNormalize, type Vma } from './vma.js';
import { UffdShared } from '../userfaultfd/shared.js';
import { R_RELEASED, R_WAKEN, recBase, UFFD_BYTES } from '../userfaultfd/layout.js';
import { threadId } from 'node:worker_threads';
import { Userfaultfd, type UserfaultfdOptions } from '../userfaultfd/userfaultfd.js';
import { UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, UFFD_PAGEFAULT_FLAG_MINOR, UFFD_PAGEFAULT_FLAG_WRITE } from '../userfaultfd/uapi.js';

/** Most bytes one read returns (read(2) returns at most MAX_RW_COUNT = INT_MAX & PAGE_MASK). */
export const MAX_RW_BYTES = 0x7fff_f000;

/**
 * Where top-down mmap placement starts (below the stack, like mm->mmap_base). It sits below 8 TiB
 * (2^43) rather than near 128 TiB as on x86-64 so that every host page number (hva / 4096) is below
 * 2^31: V8 passes such a number between functions as a small integer, where a larger one is boxed
 * in a fresh HeapNumber at every call that is not inlined (docs/host-memory.md, "Address space").
 */
export const MMAP_BASE = 0x7f0_0000_0000;
/** Most VMAs a process may have (vm.max_map_count). */
export const MAX_MAP_COUNT = 65530;

// Three cache lines, so that what every fault reads (line 0) is not written by every fault:
// line 0, read-mostly: the mmap lock, the mm seqcount, the VMA count, constants.
const MMAP_LOCK = 0;
const MM_SEQ = 1; // seqcount: odd while VMAs or PTEs of a range are changing
const NR_VMAS = 2;
const NR_FRAMES = 8;
const MAX_PT_TABLES = 9;
// line 1, the frame allocator (under FRAME_LOCK) and the page-table table count.
const FRAME_LOCK = 16;
const FRAMES_BUMP = 17; // next never-used frame
const FREE_TOP = 18; // entries on the free-frame stack
const PT_TABLES = 19; // page-table tables allocated (the root is table 0)
const PENDING_TOP = 20; // frames unmapped but perhaps still being copied: reused after a grace period
// line 2, counters every fault-in and zap updates (mm->rss_stat, which Linux keeps per CPU).
const RESIDENT = 32; // frames mapped by the page table
const KERNEL_FRAMES = 33; // frames the kernel allocated for itself (not in any VMA)
const CTL_WORDS = 48;

/** faultIn's answer when the page belongs to a userfaultfd: drop host locks, call handleUserfault, retry. */
export const VM_FAULT_USERFAULT = -2;
/** faultIn flag: the access writes (UFFD_PAGEFAULT_FLAG_WRITE; otherwise an anonymous read may use the zero page). */
export const FAULT_FLAG_WRITE = 1;
/** faultIn flag: a read may be answered with the zero page (frame 0) instead of a new frame, as do_anonymous_page does. */
export const FAULT_FLAG_ZERO_OK = 2;

/** Options for a new host address space. */
export interface HostMemoryOptions {
  /** Physical memory for page frames, in bytes (default 1 GiB). Populating more is ENOMEM. */
  physicalBytes?: number;
  /** Page-table tables available (default 16384; each maps 2 MiB). */
  maxPageTables?: number;
}

/** The SharedArrayBuffers of a HostMemory: structured-cloneable. */
export interface HostMemoryHandle {
  ctl: SharedArrayBuffer;
  vmas: SharedArrayBuffer;
  pt: SharedArrayBuffer;
  frames: SharedArrayBuffer;
  /** The free-frame stack, then the stack of frames awaiting a grace period. */
  freeFrames: SharedArrayBuffer;
  /** Host accessors' read side: freed frames are reused only after they have all left (the TLB flush). */
  srcu: SharedArrayBuffer;
  /** The memfds' page caches (docs/host-memory.md §7). */
  files: SharedArrayBuffer;
  /** userfaultfd contexts and waiter records (docs/userfaultfd.md). */
  uffd: SharedArrayBuffer;
}

/** A memfd_create(2) file: shmem pages of its own that every mapping of it shares. */
export class Memfd {
  /** @internal use HostMemory.memfdCreate */
  constructor(readonly id: number, readonly size: number) {}
}

/** Options of mmap. */
export interface MmapOptions {
  /** MAP_POPULATE: fault every page in now. */
  populate?: boolean;
  /** Map this memfd (MAP_SHARED) instead of anonymous memory. */
  memfd?: Memfd;
  /** Byte offset in the memfd (page aligned). */
  offset?: number;
}

/** Advice accepted by madvise. */
export type MadviseAdvice = 'dontneed' | 'populate_write';

function checkAddr(name: string, v: number): void {
  check(Number.isSafeInteger(v) && v >= 0, 'EINVAL', () => `${name} must be a non-negative integer (got ${String(v)})`);
}

/** The VMM process's memory: mmap/munmap/madvise, host reads and writes, page presence. */
export class HostMemory {
  /** Page frames: frame f occupies bytes [f * PAGE_SIZE, (f + 1) * PAGE_SIZE). Frame 0 is never used. */
  readonly frameBytes: Uint8Array;
  /** The page table, for threads that translate hvas themselves. */
  readonly pageTable: PageTable;
  private readonly h: HostMemoryHandle;
  private readonly ctl: Int32Array;
  private readonly vmas: Float64Array;
  private readonly pt: Int32Array;
  private readonly freeFrames: Int32Array;
  private readonly pendingBase: number;
  private readonly srcu: Srcu;
  private srcuReader: SrcuReader | undefined;
  private readonly mmapLock: SabMutex;
  private readonly frameLock: SabMutex;
  private readonly notifiers: MmuNotifier[] = [];
  private readonly pageCaches: PageCaches;
  /** @internal this thread's view of the userfaultfd contexts */
  readonly uffd: UffdShared;
  /**
   * Called about every 50 ms while this thread sleeps in handle_userfault; it may throw to abandon
   * the fault (a fatal signal: the vCPU runtime uses it when a vCPU is destroyed).
   */
  onUserfaultWait: (() => void) | undefined;
  // The userfault faultIn last reported (handle_userfault's arguments), kept in fields: no allocation.
  private ufCtx = 0;
  private ufAddr = 0;
  private ufFlags = 0;
  private ufEntry = -1;
  // The source buffer of the last COPY, as Int32 words (copied without allocating per page).
  private srcBuffer: ArrayBufferLike | undefined;
  private srcWords: Int32Array | undefined;
  private readonly frameWords: Int32Array;
  /** @internal errno code of the page mfillAtomic stopped at ('' if it did all). */
  mfillError: '' | 'EEXIST' | 'ENOENT' | 'EINVAL' | 'EFAULT' | 'ENOMEM' = '';

  private constructor(h: HostMemoryHandle) {
    this.h = h;
    this.ctl = new Int32Array(h.ctl);
    this.vmas = new Float64Array(h.vmas);
    this.pt = new Int32Array(h.pt);
    this.freeFrames = new Int32Array(h.freeFrames);
    this.pendingBase = this.freeFrames.length / 2;
    this.srcu = new Srcu(h.srcu);
    this.frameBytes = new Uint8Array(h.frames);
    this.mmapLock = new SabMutex(this.ctl, MMAP_LOCK);
    this.frameLock = new SabMutex(this.ctl, FRAME_LOCK);
    this.pageTable = new PageTable(this.pt, this.ctl, PT_TABLES, this.ctl[MAX_PT_TABLES], this.frameLock);
    const files = new Int32Array(h.files);
    this.pageCaches = new PageCaches(files, new SabMutex(files, PageCaches.LOCK_WORD));
    this.uffd = new UffdShared(h.uffd);
    this.frameWords = new Int32Array(h.frames);
  }

  /** A new, empty address space. */
  static create(options: HostMemoryOptions = {}): HostMemory {
    const physicalBytes = options.physicalBytes ?? 2 ** 30;
    const maxTables = options.maxPageTables ?? 16384;
    check(Number.isSafeInteger(physicalBytes) && physicalBytes >= 2 * PAGE_SIZE && physicalBytes <= 2 ** 32,
      'EINVAL', () => `physicalBytes must be an integer in [8 KiB, 4 GiB] (got ${physicalBytes})`);
    const nrFrames = Math.floor(physicalBytes / PAGE_SIZE);
    const h: HostMemoryHandle = {
      ctl: new SharedArrayBuffer(CTL_WORDS * 4),
      vmas: new SharedArrayBuffer(MAX_MAP_COUNT * VMA_FIELDS * 8),
      pt: new SharedArrayBuffer(maxTables * PT_ENTRIES * 4),
      frames: new SharedArrayBuffer(nrFrames * PAGE_SIZE),
      freeFrames: new SharedArrayBuffer(2 * nrFrames * 4),
      srcu: new Srcu().buffer,
      // The page caches may index up to 4x physical memory: memfds are sparse until written.
      files: new SharedArrayBuffer(shmemBytes(4 * nrFrames)),
      uffd: new SharedArrayBuffer(UFFD_BYTES),
    };
    PageCaches.init(new Int32Array(h.files), 4 * nrFrames);
    const ctl = new Int32Array(h.ctl);
    ctl[FRAMES_BUMP] = 1;
    ctl[PT_TABLES] = 1;
    ctl[NR_FRAMES] = nrFrames;
    ctl[MAX_PT_TABLES] = maxTables;
    return new HostMemory(h);
  }

  /**
   * @internal This thread's view of an address space created elsewhere. Threads get theirs through
   * attachVm, which also registers the VM's MMU notifier on it: notifiers are per view.
   */
  static attach(handle: HostMemoryHandle): HostMemory {
    return new HostMemory(handle);
  }

  /** The structured-cloneable buffers of this address space. */
  handle(): HostMemoryHandle {
    return this.h;
  }

  /** Subscribes `n` to invalidations made through this thread's view (mmu_notifier_register). */
  registerNotifier(n: MmuNotifier): void {
    this.notifiers.push(n);
  }

  /** Removes a subscription made with registerNotifier. */
  unregisterNotifier(n: MmuNotifier): void {
    const i = this.notifiers.indexOf(n);
    if (i >= 0) this.notifiers.splice(i, 1);
  }

  /** memfd_create(2) + ftruncate: a shmem file of `size` bytes whose pages every mapping of it shares. */
  memfdCreate(size: number): Memfd {
    checkAddr('size', size);
    check(size > 0, 'EINVAL', 'memfdCreate: size must be > 0');
    const pages = Math.ceil(size / PAGE_SIZE);
    return new Memfd(this.pageCaches.create(pages), pages * PAGE_SIZE);
  }

  /** userfaultfd(2): a new userfaultfd on this address space (UFFDIO_API comes next). */
  userfaultfd(options: UserfaultfdOptions = {}): Userfaultfd {
    return Userfaultfd.open(this, options);
  }

  /** The memfd with id `id` (for a thread that got the id from another). */
  memfd(id: number): Memfd {
    check(Number.isInteger(id) && id >= 0 && id < this.pageCaches.count(), 'EINVAL', () => `no memfd ${String(id)}`);
    return new Memfd(id, this.pageCaches.pages(id) * PAGE_SIZE);
  }

  /** Is page `offset` of `memfd` in its page cache? */
  memfdIsCached(memfd: Memfd, offset: number): boolean {
    const e = this.pageCaches.entry(memfd.id, Math.floor(offset / PAGE_SIZE));
    return e >= 0 && this.pageCaches.frame(e) !== 0;
  }

  /**
   * Maps `length` bytes, lazily unless `populate` (MAP_POPULATE); returns the hva. Anonymous memory,
   * or with `memfd` a MAP_SHARED mapping of the file from `offset` (its pages live in the page cache).
   */
  mmap(length: number, options: MmapOptions = {}): number {
    checkAddr('length', length);
    check(length > 0, 'EINVAL', 'mmap length must be > 0');
    const len = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    let file = 0;
    let pgoff = 0;
    if (options.memfd !== undefined) {
      const m = options.memfd;
      check(m instanceof Memfd && this.pageCaches.count() > m.id, 'EINVAL', 'mmap: memfd must come from memfdCreate of this address space');
      const offset = options.offset ?? 0;
      checkAddr('offset', offset);
      check(offset % PAGE_SIZE === 0, 'EINVAL', () => `mmap: offset ${offset} is not page aligned`);
      // Linux maps past EOF and the access SIGBUSes; refusing it here catches the mistake earlier.
      check(offset + len <= m.size, 'EINVAL', () => `mmap: [${offset}, ${offset + len}) runs past the memfd's ${m.size} bytes`);
      file = m.id + 1;
      pgoff = offset / PAGE_SIZE;
    } else {
      check(options.offset === undefined || options.offset === 0, 'EINVAL', 'mmap: offset needs a memfd');
    }
    this.mmapLock.lock();
    let addr: number;
    try {
      addr = this.findGap(len);
      this.writeBegin();
      try {
        this.vmaInsert({ start: addr, end: addr + len, file, pgoff, uffd: 0, uffdMode: 0 });
      } finally {
        this.writeEnd();
      }
    } finally {
      this.mmapLock.unlock();
    }
    if (options.populate) {
      try {
        for (let a = addr; a < addr + len; a += PAGE_SIZE) {
          while (this.faultIn(a) === VM_FAULT_USERFAULT) this.userfaultOrEfault('mmap(MAP_POPULATE)');
        }
      } catch (e) {
        this.munmap(addr, len);
        throw e;
      }
    }
    return addr;
  }

  /** Unmaps [addr, addr + length): pages are freed and the MMU notifier runs. Unmapped parts are ignored. */
  munmap(addr: number, length: number): void {
    const [start, end] = this.range('munmap', addr, length);
    this.invalidate(start, end, () => {
      this.zapPtes(start, end);
      this.vmaRemove(start, end);
    });
  }

  /**
   * madvise(2): 'dontneed' drops pages (they read back as zero) through the MMU notifier;
   * 'populate_write' faults them in. As in Linux, the advice applies to the mapped parts of the
   * range and a hole makes the call fail with ENOMEM afterwards.
   */
  madvise(addr: number, length: number, advice: MadviseAdvice): void {
    const [start, end] = this.range('madvise', addr, length);
    if (advice === 'dontneed') {
      this.invalidate(start, end, () => this.zapPtes(start, end));
      check(this.isMapped(start, end), 'ENOMEM', () => `madvise: [${hex(start)}, ${hex(end)}) is not fully mapped`);
    } else if (advice === 'populate_write') {
      for (let a = start; a < end; a += PAGE_SIZE) {
        if (this.lookupPage(a / PAGE_SIZE) < 0) throw new KvmError('ENOMEM', `madvise: ${hex(a)} is not mapped`);
        while (this.faultIn(a) === VM_FAULT_USERFAULT) this.userfaultOrEfault('madvise(MADV_POPULATE_WRITE)');
      }
    } else {
      throw new KvmError('EINVAL', `madvise: unknown advice '${String(advice)}' (dontneed | populate_write)`);
    }
  }

  /** Reads host memory; absent pages of a mapping read as zero (the zero page). EFAULT outside any mapping. */
  read(addr: number, length: number): Uint8Array {
    checkAddr('addr', addr);
    checkAddr('length', length);
    check(length <= MAX_RW_BYTES, 'EINVAL', () => `host read: length ${length} is more than one call copies (${MAX_RW_BYTES} bytes)`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      for (;;) {
        const idx = this.readLock();
        let frame: number;
        try {
          // A read fault: the zero page for absent anonymous memory, the page cache for a memfd.
          frame = this.lookupPage(Math.floor(a / PAGE_SIZE));
          if (frame < 0) throw new KvmError('EFAULT', `host read at ${hex(a)}: not mapped`);
          if (frame === 0) frame = this.faultIn(a, FAULT_FLAG_ZERO_OK); // the exact address: UFFD_FEATURE_EXACT_ADDRESS reports it
          if (frame > 0) out.set(this.frameBytes.subarray(frame * PAGE_SIZE + off, frame * PAGE_SIZE + off + n), done);
        } finally {
          this.readUnlock(idx);
        }
        if (frame !== VM_FAULT_USERFAULT) break;
        this.userfaultOrEfault('host read');
      }
      done += n;
    }
    return out;
  }

  /** Writes host memory, populating pages as a write fault would. EFAULT outside any mapping. */
  write(addr: number, data: Uint8Array): void {
    checkAddr('addr', addr);
    let done = 0;
    while (done < data.length) {
      const a = addr + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      for (;;) {
        const idx = this.readLock();
        let frame: number;
        try {
          frame = this.faultIn(a);
          if (frame > 0) this.frameBytes.set(data.subarray(done, done + n), frame * PAGE_SIZE + off);
        } finally {
          this.readUnlock(idx);
        }
        if (frame !== VM_FAULT_USERFAULT) break;
        this.userfaultOrEfault('host write');
      }
      done += n;
    }
  }

  /** Is the host page containing `addr` populated? */
  isPresent(addr: number): boolean {
    checkAddr('addr', addr);
    const leaf = this.pageTable.leaf(Math.floor(addr / PAGE_SIZE), false);
    return leaf >= 0 && Atomics.load(this.pt, leaf) !== 0;
  }

  /** A frame for the kernel's own use, not mapped in the address space, filled with `fill` (e.g. the ALLONES page). */
  allocKernelFrame(fill: number): number {
    const f = this.allocFrame();
    this.frameBytes.fill(fill, f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
    Atomics.add(this.ctl, KERNEL_FRAMES, 1);
    return f;
  }

  /** Bytes of frames the kernel allocated for itself. */
  kernelBytes(): number {
    return Atomics.load(this.ctl, KERNEL_FRAMES) * PAGE_SIZE;
  }

  /** Bytes of populated host pages. */
  residentBytes(): number {
    return Atomics.load(this.ctl, RESIDENT) * PAGE_SIZE;
  }

  /** Is every page of [start, end) inside a VMA? */
  isMapped(start: number, end: number): boolean {
    for (;;) {
      const seq = this.readBegin();
      let ok = true;
      let a = start;
      while (a < end) {
        const i = this.vmaFind(Math.floor(a / PAGE_SIZE));
        if (i < 0) { ok = false; break; }
        a = this.vmas[i * VMA_FIELDS + VMA_END];
      }
      if (!this.readRetry(seq)) return ok;
    }
  }

  /**
   * Enters a host read-side section: frames seen inside it are not reused until it ends, even if
   * they are unmapped meanwhile (they are freed only after a grace period, like after a TLB flush).
   */
  readLock(): number {
    this.srcuReader ??= this.srcu.registerReader();
    return this.srcuReader.lock();
  }

  /** Leaves a section entered with readLock. */
  readUnlock(idx: number): void {
    this.srcuReader!.unlock(idx);
  }

  /** This thread's host reader line, registering it if needed (for reclaimHostReader after a thread dies). */
  readerSlot(): number {
    this.srcuReader ??= this.srcu.registerReader();
    return this.srcuReader.slot;
  }

  /** Reclaims the host reader line of a thread that died without releasing it. */
  reclaimHostReader(slot: number): void {
    this.srcu.reclaim(slot);
  }

  /** This thread's userfaultfd waiter record, claiming it if needed (for reclaimUffdRecord after a thread dies). */
  uffdRecord(): number {
    return this.uffd.record();
  }

  /** Reclaims the userfaultfd waiter record of a thread that died holding it (unlinked from its wait queue). */
  reclaimUffdRecord(r: number): void {
    this.uffd.reclaim(r);
  }

  /** Gives this thread's host reader back (the VM or view owning this HostMemory is going away). */
  release(): void {
    this.srcuReader?.release();
    this.srcuReader = undefined;
    this.uffd.release();
  }

  /**
   * handle_mm_fault: returns the frame backing the page at `addr`, allocating a zeroed one (or, in a
   * memfd mapping, mapping the page-cache page, allocated if absent) when the PTE is empty. With
   * FAULT_FLAG_ZERO_OK and no FAULT_FLAG_WRITE, absent anonymous memory answers 0 (the zero page).
   * A page that a userfaultfd registration covers answers VM_FAULT_USERFAULT: the caller leaves its
   * host read section, calls handleUserfault() and faults again. Safe against concurrent faults,
   * munmap and dontneed from any thread. Use the frame only inside a readLock section.
   */
  faultIn(addr: number, flags = FAULT_FLAG_WRITE): number {
    const vpn = Math.floor(addr / PAGE_SIZE);
    const v = this.vmas;
    for (;;) {
      const seq = this.readBegin();
      const vi = this.vmaFind(vpn);
      if (vi < 0) {
        if (this.readRetry(seq)) continue;
        throw new KvmError('EFAULT', `host page fault at ${hex(addr)}: not mapped`);
      }
      const o = vi * VMA_FIELDS;
      const file = v[o + VMA_FILE];
      const uffd = v[o + VMA_UFFD];
      const mode = v[o + VMA_UFFD_MODE];
      const leaf = this.pageTable.leaf(vpn, true);
      const cur = Atomics.load(this.pt, leaf);
      if (cur !== 0) return cur;
      const write = flags & FAULT_FLAG_WRITE ? UFFD_PAGEFAULT_FLAG_WRITE : 0;
      let frame: number;
      if (file !== 0) {
        // shmem_fault: the page cache first.
        const entry = this.pageCaches.entry(file - 1, v[o + VMA_PGOFF] + vpn - v[o + VMA_START] / PAGE_SIZE);
        if (entry < 0) {
          if (this.readRetry(seq)) continue;
          throw new KvmError('EFAULT', `host page fault at ${hex(addr)}: past the end of the memfd (SIGBUS)`);
        }
        frame = this.pageCaches.frame(entry);
        if (frame === 0 && mode & UFFDIO_REGISTER_MODE_MISSING) {
          if (this.readRetry(seq)) continue;
          return this.userfault(uffd - 1, addr, write, entry);
        }
        if (frame !== 0 && mode & UFFDIO_REGISTER_MODE_MINOR) {
          if (this.readRetry(seq)) continue;
          return this.userfault(uffd - 1, addr, write | UFFD_PAGEFAULT_FLAG_MINOR, entry);
        }
        if (frame === 0) {
          const f = this.allocFrame();
          frame = this.pageCaches.add(entry, f);
          if (frame !== f) this.freeFrame(f);
        }
        if (Atomics.compareExchange(this.pt, leaf, 0, frame) !== 0) continue;
        Atomics.add(this.ctl, RESIDENT, 1);
        if (this.readRetry(seq)) {
          // Raced with munmap/dontneed: unmap again; the page cache keeps the page.
          if (Atomics.compareExchange(this.pt, leaf, frame, 0) === frame) Atomics.sub(this.ctl, RESIDENT, 1);
          continue;
        }
        return frame;
      }
      if (mode & UFFDIO_REGISTER_MODE_MISSING) {
        if (this.readRetry(seq)) continue;
        return this.userfault(uffd - 1, addr, write, -1);
      }
      if (flags & FAULT_FLAG_ZERO_OK && !write) {
        if (this.readRetry(seq)) continue;
        return 0;
      }
      frame = this.allocFrame();
      if (Atomics.compareExchange(this.pt, leaf, 0, frame) !== 0) {
        this.freeFrame(frame); // never visible to anyone
        continue;
      }
      // Counted as soon as it is mapped, so that a zap taking it subtracts what was added.
      Atomics.add(this.ctl, RESIDENT, 1);
      if (this.readRetry(seq)) {
        // Raced with munmap/dontneed of this range: undo unless the zap already took the frame.
        // Another thread may have seen it meanwhile, so it waits for a grace period like any unmap.
        if (Atomics.compareExchange(this.pt, leaf, frame, 0) === frame) {
          Atomics.sub(this.ctl, RESIDENT, 1);
          this.deferFree(frame);
        }
        continue;
      }
      return frame;
    }
  }

  /** Records handle_userfault's arguments for the caller and answers VM_FAULT_USERFAULT. */
  private userfault(ctx: number, addr: number, flags: number, entry: number): number {
    this.ufCtx = ctx;
    this.ufAddr = addr;
    this.ufFlags = flags;
    this.ufEntry = entry;
    return VM_FAULT_USERFAULT;
  }

  /**
   * handle_userfault for the fault faultIn just answered VM_FAULT_USERFAULT for: queue this thread's
   * waiter record on the context's fault_pending_wqh, re-check the page (userfaultfd_must_wait),
   * wake a reader, and sleep until a UFFDIO_COPY / ZEROPAGE / CONTINUE / WAKE covers the address.
   * Call with no host read section held (the kernel drops mmap_lock before it sleeps). Returns
   * true when the fault should be retried, false when the uffd was closed under it (the fault then
   * fails: SIGBUS for a process, EFAULT for KVM).
   */
  handleUserfault(): boolean {
    const u = this.uffd;
    const c = this.ufCtx;
    const ctx = u.ctx(c);
    if (ctx.released) return true; // VM_FAULT_NOPAGE: close is unregistering the range; fault again
    const r = u.record();
    ctx.enqueue(r, this.ufAddr, this.ufFlags, threadId);
    if (!this.userfaultfdMustWait(c) || ctx.released) {
      ctx.dequeue(r);
      return true;
    }
    ctx.wakeReaders();
    const word = recBase(r) + R_WAKEN;
    try {
      while (Atomics.load(u.i32, word) === 0) {
        Atomics.wait(u.i32, word, 0, 50);
        this.onUserfaultWait?.();
      }
    } finally {
      ctx.dequeue(r);
    }
    return Atomics.load(u.i32, word) !== R_RELEASED;
  }

  /** handleUserfault, or EFAULT when the uffd went away under the fault. */
  private userfaultOrEfault(what: string): void {
    if (!this.handleUserfault()) throw new KvmError('EFAULT', `${what} at ${hex(this.ufAddr)}: its userfaultfd was closed while the fault waited (SIGBUS)`);
  }

  /**
   * userfaultfd_must_wait: after queueing, is the fault still unresolved? The PTE is still empty, a
   * missing memfd page is still not cached, and the range is still registered with the context.
   */
  private userfaultfdMustWait(c: number): boolean {
    const vpn = Math.floor(this.ufAddr / PAGE_SIZE);
    for (;;) {
      const seq = this.readBegin();
      const vi = this.vmaFind(vpn);
      let wait = vi >= 0 && this.vmas[vi * VMA_FIELDS + VMA_UFFD] === c + 1;
      if (wait) {
        const leaf = this.pageTable.leaf(vpn, false);
        wait = leaf < 0 || Atomics.load(this.pt, leaf) === 0;
        if (wait && this.ufEntry >= 0 && !(this.ufFlags & UFFD_PAGEFAULT_FLAG_MINOR)) wait = this.pageCaches.frame(this.ufEntry) === 0;
      }
      if (!this.readRetry(seq)) return wait;
    }
  }

  /**
   * @internal mfill_atomic for userfaultfd context `c`: UFFDIO_COPY (from `src` at `srcOff`),
   * UFFDIO_ZEROPAGE or UFFDIO_CONTINUE of `pages` pages from page number `first`. Returns the pages
   * done; when it stops early, mfillError names the errno of the page it stopped at. Wakes nobody.
   * Page numbers rather than addresses: they stay small integers across calls (MMAP_BASE).
   */
  mfillAtomic(c: number, op: 'copy' | 'zeropage' | 'continue', first: number, pages: number, src: Uint8Array | undefined, srcOff: number): number {
    this.mfillError = '';
    let done = 0;
    while (done < pages) {
      const err = this.mfillPage(c, op, first + done, src, srcOff + done * PAGE_SIZE);
      if (err !== '') {
        this.mfillError = err;
        break;
      }
      done++;
    }
    return done;
  }

  /** One page of mfillAtomic; '' on success, else the errno code. */
  private mfillPage(c: number, op: 'copy' | 'zeropage' | 'continue', vpn: number, src: Uint8Array | undefined, srcOff: number): '' | 'EEXIST' | 'ENOENT' | 'EINVAL' | 'EFAULT' | 'ENOMEM' {
    const v = this.vmas;
    const idx = this.readLock();
    // A memfd page this call put in the page cache: a retry after a racing unmap maps it again
    // rather than finding it there and answering EEXIST to itself.
    let placed = 0;
    try {
      for (;;) {
        const seq = this.readBegin();
        const vi = this.vmaFind(vpn);
        // find_dst_vma: the range must be registered with this context.
        if (vi < 0 || v[vi * VMA_FIELDS + VMA_UFFD] !== c + 1) {
          if (this.readRetry(seq)) continue;
          return 'ENOENT';
        }
        const o = vi * VMA_FIELDS;
        const file = v[o + VMA_FILE];
        const entry = file === 0 ? -1 : this.pageCaches.entry(file - 1, v[o + VMA_PGOFF] + vpn - v[o + VMA_START] / PAGE_SIZE);
        if (op === 'continue' && (file === 0 || !(v[o + VMA_UFFD_MODE] & UFFDIO_REGISTER_MODE_MINOR))) return 'EINVAL';
        if (op === 'zeropage' && file !== 0) return 'EINVAL';
        const leaf = this.pageTable.leaf(vpn, true);
        if (Atomics.load(this.pt, leaf) !== 0) return 'EEXIST';
        let frame: number;
        let fresh = false;
        if (op === 'continue') {
          // mfill_atomic_pte_continue: the page cache must already hold the page; only the PTE is new.
          frame = this.pageCaches.frame(entry);
          if (frame === 0) return 'EFAULT';
        } else if (file !== 0) {
          // shmem_mfill_atomic_pte: a new page-cache page; one already there is EEXIST.
          frame = this.pageCaches.frame(entry);
          if (frame === 0) {
            const f = this.allocFrame();
            if (src) this.copyIntoFrame(f, src, srcOff);
            frame = this.pageCaches.add(entry, f);
            if (frame !== f) {
              this.freeFrame(f);
              return 'EEXIST';
            }
            placed = f;
          } else if (frame !== placed) {
            return 'EEXIST';
          }
        } else {
          // mfill_atomic_pte_copy / _zeropage: a new anonymous frame (ZEROPAGE gets a zeroed frame
          // rather than the shared zero page: docs/userfaultfd.md §6).
          frame = this.allocFrame();
          fresh = true;
          if (op === 'copy' && src) this.copyIntoFrame(frame, src, srcOff);
        }
        if (Atomics.compareExchange(this.pt, leaf, 0, frame) !== 0) {
          if (fresh) this.freeFrame(frame);
          return 'EEXIST';
        }
        Atomics.add(this.ctl, RESIDENT, 1);
        if (this.readRetry(seq)) {
          // Raced with an unmap of the range: take the page back and try again.
          if (Atomics.compareExchange(this.pt, leaf, frame, 0) === frame) {
            Atomics.sub(this.ctl, RESIDENT, 1);
            if (fresh) this.deferFree(frame);
          }
          continue;
        }
        return '';
      }
    } catch (e) {
      // Out of host memory (or page tables): the pages done so far stay done and are woken.
      if (e instanceof KvmError && e.code === 'ENOMEM') return 'ENOMEM';
      throw e;
    } finally {
      this.readUnlock(idx);
    }
  }

  /** Copies PAGE_SIZE bytes of `src` from `off` into `frame`, word by word when aligned (no allocation). */
  private copyIntoFrame(frame: number, src: Uint8Array, off: number): void {
    if (off < 0 || off + PAGE_SIZE > src.length) throw new KvmError('EFAULT', `UFFDIO_COPY: source [${off}, ${off + PAGE_SIZE}) is outside the ${src.length}-byte buffer`);
    const start = src.byteOffset + off;
    if (start % 4 === 0) {
      if (this.srcBuffer !== src.buffer) {
        this.srcBuffer = src.buffer;
        this.srcWords = new Int32Array(src.buffer, 0, Math.floor(src.buffer.byteLength / 4));
      }
      const from = this.srcWords!;
      const to = this.frameWords;
      const s = start / 4;
      const d = frame * (PAGE_SIZE / 4);
      for (let i = 0; i < PAGE_SIZE / 4; i++) to[d + i] = from[s + i];
    } else {
      this.frameBytes.set(src.subarray(off, off + PAGE_SIZE), frame * PAGE_SIZE);
    }
  }

  /**
   * The VMAs of [start, end) clipped to it, under mmap_lock: every page must be mapped (EINVAL) and
   * no part may belong to a context other than `c` (`busy`: EBUSY to register, EINVAL to unregister).
   */
  private uffdParts(op: string, c: number, start: number, end: number, busy: 'EBUSY' | 'EINVAL'): { list: Vma[]; parts: Vma[] } {
    const list = this.vmaListLocked();
    const parts = list.map((v) => vmaClip(v, start, end)).filter((v): v is Vma => v !== undefined);
    let covered = start;
    for (const p of parts) {
      check(p.start === covered, 'EINVAL', () => `${op}: [${hex(covered)}, ${hex(p.start)}) is not mapped`);
      covered = p.end;
      check(p.uffd === 0 || p.uffd === c + 1, busy, () => `${op}: [${hex(p.start)}, ${hex(p.end)}) is registered with another userfaultfd`);
    }
    check(covered === end, 'EINVAL', () => `${op}: [${hex(covered)}, ${hex(end)}) is not mapped`);
    return { list, parts };
  }

  /** Stores `list` as the VMA table inside an mm seqcount write section. Caller holds mmap_lock. */
  private vmaRewrite(list: Vma[]): void {
    this.writeBegin();
    try {
      this.vmaStore(list);
    } finally {
      this.writeEnd();
    }
  }

  /**
   * @internal UFFDIO_REGISTER's VMA side: every page of [start, end) must be mapped (EINVAL), MINOR
   * needs memfd mappings (EINVAL), and no part may belong to another context (EBUSY); then the
   * range's VMAs are split and marked, under mmap_lock.
   */
  uffdRegister(c: number, start: number, end: number, mode: number): void {
    this.mmapLock.lock();
    try {
      const { list, parts } = this.uffdParts('UFFDIO_REGISTER', c, start, end, 'EBUSY');
      for (const p of parts) {
        check(!(mode & UFFDIO_REGISTER_MODE_MINOR) || p.file !== 0, 'EINVAL',
          () => `UFFDIO_REGISTER: MINOR mode needs a memfd (shmem) mapping; [${hex(p.start)}, ${hex(p.end)}) is anonymous`);
      }
      for (const p of parts) { p.uffd = c + 1; p.uffdMode = mode; }
      this.vmaRewrite([...vmaCut(list, start, end), ...parts]);
    } finally {
      this.mmapLock.unlock();
    }
  }

  /**
   * @internal UFFDIO_UNREGISTER's VMA side: every page of [start, end) must be mapped and none may
   * belong to another context (EINVAL); the parts registered with context `c` lose it. Returns
   * whether anything was unregistered.
   */
  uffdUnregister(c: number, start: number, end: number): boolean {
    this.mmapLock.lock();
    try {
      const { list, parts } = this.uffdParts('UFFDIO_UNREGISTER', c, start, end, 'EINVAL');
      if (!parts.some((p) => p.uffd !== 0)) return false;
      for (const p of parts) { p.uffd = 0; p.uffdMode = 0; }
      this.vmaRewrite([...vmaCut(list, start, end), ...parts]);
      return true;
    } finally {
      this.mmapLock.unlock();
    }
  }

  /** @internal userfaultfd_release's VMA side: every range registered with context `c` loses it. */
  uffdUnregisterAll(c: number): void {
    this.mmapLock.lock();
    try {
      const list = this.vmaListLocked();
      if (!list.some((v) => v.uffd === c + 1)) return;
      for (const v of list) if (v.uffd === c + 1) { v.uffd = 0; v.uffdMode = 0; }
      this.vmaRewrite(list);
    } finally {
      this.mmapLock.unlock();
    }
  }

  /** The frame mapped at `addr`: > 0 present, 0 mapped but absent, -1 not mapped. */
  lookupFrame(addr: number): number {
    return this.lookupPage(Math.floor(addr / PAGE_SIZE));
  }

  /** @internal lookupFrame by page number (hva / PAGE_SIZE), as the fault paths call it: no boxed address. */
  lookupPage(vpn: number): number {
    for (;;) {
      const seq = this.readBegin();
      if (this.vmaFind(vpn) < 0) {
        if (this.readRetry(seq)) continue;
        return -1;
      }
      const leaf = this.pageTable.leaf(vpn, false);
      const f = leaf < 0 ? 0 : Atomics.load(this.pt, leaf);
      if (!this.readRetry(seq)) return f;
    }
  }

  /** The mappings, as [start, end) pairs in ascending order. */
  vmaList(): Array<[number, number]> {
    return this.vmaDetails().map((v) => [v.start, v.end]);
  }

  /** The mappings with their backing and userfaultfd registration, in ascending order. */
  vmaDetails(): Vma[] {
    for (;;) {
      const seq = this.readBegin();
      const out = this.vmaListLocked();
      if (!this.readRetry(seq)) return out;
    }
  }

  private range(op: string, addr: number, length: number): [number, number] {
    checkAddr('addr', addr);
    checkAddr('length', length);
    check(addr % PAGE_SIZE === 0, 'EINVAL', () => `${op}: addr ${hex(addr)} is not page aligned`);
    check(length > 0, 'EINVAL', () => `${op}: length must be > 0`);
    const end = addr + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    check(end <= TASK_SIZE_MAX, 'EINVAL', () => `${op}: range ends past TASK_SIZE_MAX`);
    return [addr, end];
  }

  /**
   * Runs `zap` between the MMU notifiers' start and end with the mm write-locked, then frees what it
   * unmapped once every host reader has left (unmap_region: notifiers, zap, tlb_finish_mmu).
   */
  private invalidate(start: number, end: number, zap: () => void): void {
    this.mmapLock.lock();
    let started = 0;
    try {
      for (const n of this.notifiers) {
        n.invalidateRangeStart(start, end);
        started++;
      }
      this.writeBegin();
      try {
        zap();
      } finally {
        this.writeEnd();
      }
    } finally {
      try {
        for (let i = 0; i < started; i++) this.notifiers[i].invalidateRangeEnd(start, end);
        // Under mmap_lock, so reclaims never overlap; host readers never take it, so the wait ends.
        this.reclaimPending();
      } finally {
        this.mmapLock.unlock();
      }
    }
  }

  /** Clears the PTEs of [start, end); anonymous frames are freed after a grace period, page-cache pages stay cached. */
  private zapPtes(start: number, end: number): void {
    let unmapped = 0;
    for (const v of this.vmaListLocked()) {
      const s = Math.max(v.start, start);
      const e = Math.min(v.end, end);
      if (s >= e) continue;
      const anon = v.file === 0;
      this.pageTable.forEachLeafRun(s / PAGE_SIZE, e / PAGE_SIZE, (first, count) => {
        for (let i = first; i < first + count; i++) {
          const f = Atomics.exchange(this.pt, i, 0);
          if (f !== 0) {
            if (anon) this.deferFree(f);
            unmapped++;
          }
        }
      });
    }
    if (unmapped) Atomics.sub(this.ctl, RESIDENT, unmapped);
  }

  private allocFrame(): number {
    this.frameLock.lock();
    let frame: number;
    let recycled = false;
    try {
      const top = this.ctl[FREE_TOP];
      if (top > 0) {
        frame = this.freeFrames[top - 1];
        this.ctl[FREE_TOP] = top - 1;
        recycled = true;
      } else {
        frame = this.ctl[FRAMES_BUMP];
        if (frame >= this.ctl[NR_FRAMES]) {
          throw new KvmError('ENOMEM', `host physical memory exhausted (${this.ctl[NR_FRAMES] - 1} frames)`);
        }
        this.ctl[FRAMES_BUMP] = frame + 1;
      }
    } finally {
      this.frameLock.unlock();
    }
    if (recycled) this.frameBytes.fill(0, frame * PAGE_SIZE, (frame + 1) * PAGE_SIZE);
    return frame;
  }

  /** Returns a frame no one else has seen to the free stack. */
  private freeFrame(frame: number): void {
    this.pushFrame(0, FREE_TOP, frame);
  }

  /** Queues an unmapped frame until a grace period has passed (tlb_remove_page). */
  private deferFree(frame: number): void {
    this.pushFrame(this.pendingBase, PENDING_TOP, frame);
  }

  private pushFrame(base: number, topWord: number, frame: number): void {
    this.frameLock.lock();
    const top = this.ctl[topWord];
    this.freeFrames[base + top] = frame;
    this.ctl[topWord] = top + 1;
    this.frameLock.unlock();
  }

  /** Waits for host readers, then moves the frames queued before the wait to the free stack. Caller holds mmap_lock. */
  private reclaimPending(): void {
    const queued = Atomics.load(this.ctl, PENDING_TOP);
    if (queued === 0) return;
    this.srcu.synchronize();
    this.frameLock.lock();
    try {
      const f = this.freeFrames;
      const p = this.pendingBase;
      let top = this.ctl[FREE_TOP];
      for (let i = 0; i < queued; i++) f[top++] = f[p + i];
      this.ctl[FREE_TOP] = top;
      const rest = this.ctl[PENDING_TOP] - queued;
      f.copyWithin(p, p + queued, p + queued + rest);
      this.ctl[PENDING_TOP] = rest;
    } finally {
      this.frameLock.unlock();
    }
  }

  private readBegin(): number {
    for (;;) {
      const s = Atomics.load(this.ctl, MM_SEQ);
      if ((s & 1) === 0) return s;
      Atomics.wait(this.ctl, MM_SEQ, s, 1);
    }
  }

  private readRetry(seq: number): boolean {
    return Atomics.load(this.ctl, MM_SEQ) !== seq;
  }

  private writeBegin(): void {
    Atomics.add(this.ctl, MM_SEQ, 1);
  }

  private writeEnd(): void {
    Atomics.add(this.ctl, MM_SEQ, 1);
    Atomics.notify(this.ctl, MM_SEQ);
  }

  /** Index of the VMA containing page `vpn`, or -1 (binary search; caller validates with the seqcount). */
  private vmaFind(vpn: number): number {
    const addr = vpn * PAGE_SIZE;
    let lo = 0;
    let hi = Atomics.load(this.ctl, NR_VMAS) - 1;
    const v = this.vmas;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (addr < v[mid * VMA_FIELDS + VMA_START]) hi = mid - 1;
      else if (addr >= v[mid * VMA_FIELDS + VMA_END]) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Highest free range of `len` bytes below MMAP_BASE (top-down allocation). Caller holds mmap_lock. */
  private findGap(len: number): number {
    const n = this.ctl[NR_VMAS];
    let ceiling = MMAP_BASE;
    for (let i = n - 1; i >= 0; i--) {
      const s = this.vmas[i * VMA_FIELDS + VMA_START];
      const e = this.vmas[i * VMA_FIELDS + VMA_END];
      if (s >= MMAP_BASE) continue;
      if (e <= ceiling - len) return ceiling - len;
      ceiling = Math.min(ceiling, s);
    }
    check(ceiling - len >= 0x10000, 'ENOMEM', () => `mmap: no ${len}-byte gap left in the address space`);
    return ceiling - len;
  }

  /** Inserts `vma` over whatever it overlaps, merging with compatible neighbours (vma_merge). */
  private vmaInsert(vma: Vma): void {
    this.vmaStore([...vmaCut(this.vmaListLocked(), vma.start, vma.end), vma]);
  }

  /** Removes [start, end) from every VMA, splitting where needed. */
  private vmaRemove(start: number, end: number): void {
    this.vmaStore(vmaCut(this.vmaListLocked(), start, end));
  }

  private vmaListLocked(): Vma[] {
    const n = Atomics.load(this.ctl, NR_VMAS);
    const v = this.vmas;
    const out: Vma[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * VMA_FIELDS;
      out.push({ start: v[o + VMA_START], end: v[o + VMA_END], file: v[o + VMA_FILE], pgoff: v[o + VMA_PGOFF], uffd: v[o + VMA_UFFD], uffdMode: v[o + VMA_UFFD_MODE] });
    }
    return out;
  }

  private vmaStore(list: Vma[]): void {
    const merged = vmaNormalize(list);
    check(merged.length <= MAX_MAP_COUNT, 'ENOMEM', () => `more than ${MAX_MAP_COUNT} mappings (vm.max_map_count)`);
    const v = this.vmas;
    merged.forEach((m, i) => {
      const o = i * VMA_FIELDS;
      v[o + VMA_START] = m.start; v[o + VMA_END] = m.end; v[o + VMA_FILE] = m.file;
      v[o + VMA_PGOFF] = m.pgoff; v[o + VMA_UFFD] = m.uffd; v[o + VMA_UFFD_MODE] = m.uffdMode;
    });
    Atomics.store(this.ctl, NR_VMAS, merged.length);
  }
}

/** Formats an address for messages. */
export function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}
