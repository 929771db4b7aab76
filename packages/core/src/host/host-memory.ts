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

/** Where top-down mmap placement starts (below the stack, like mm->mmap_base). */
export const MMAP_BASE = 0x7f00_0000_0000;
/** Most VMAs a process may have (vm.max_map_count). */
export const MAX_MAP_COUNT = 65530;

const MMAP_LOCK = 0;
const MM_SEQ = 1; // seqcount: odd while VMAs or PTEs of a range are changing
const NR_VMAS = 2;
const FRAME_LOCK = 3;
const FRAMES_BUMP = 4; // next never-used frame
const FREE_TOP = 5; // entries on the free-frame stack
const RESIDENT = 6; // frames mapped by the page table
const PT_TABLES = 7; // page-table tables allocated (the root is table 0)
const NR_FRAMES = 8;
const MAX_PT_TABLES = 9;
const KERNEL_FRAMES = 11; // frames the kernel allocated for itself (not in any VMA)
const PENDING_TOP = 10; // frames unmapped but perhaps still being copied: reused after a grace period
const CTL_WORDS = 16;

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
      vmas: new SharedArrayBuffer(MAX_MAP_COUNT * 2 * 8),
      pt: new SharedArrayBuffer(maxTables * PT_ENTRIES * 4),
      frames: new SharedArrayBuffer(nrFrames * PAGE_SIZE),
      freeFrames: new SharedArrayBuffer(2 * nrFrames * 4),
      srcu: new Srcu().buffer,
    };
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

  /** Maps `length` bytes of anonymous memory, lazily unless `populate` (MAP_POPULATE); returns the hva. */
  mmap(length: number, options: { populate?: boolean } = {}): number {
    checkAddr('length', length);
    check(length > 0, 'EINVAL', 'mmap length must be > 0');
    const len = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    this.mmapLock.lock();
    let addr: number;
    try {
      addr = this.findGap(len);
      this.writeBegin();
      this.vmaInsert(addr, addr + len);
      this.writeEnd();
    } finally {
      this.mmapLock.unlock();
    }
    if (options.populate) {
      try {
        for (let a = addr; a < addr + len; a += PAGE_SIZE) this.faultIn(a);
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
      this.vmaRemove(start, end);
      this.zapPtes(start, end);
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
        if (this.lookupFrame(a) < 0) throw new KvmError('ENOMEM', `madvise: ${hex(a)} is not mapped`);
        this.faultIn(a);
      }
    } else {
      throw new KvmError('EINVAL', `madvise: unknown advice '${String(advice)}' (dontneed | populate_write)`);
    }
  }

  /** Reads host memory; absent pages of a mapping read as zero (the zero page). EFAULT outside any mapping. */
  read(addr: number, length: number): Uint8Array {
    checkAddr('addr', addr);
    checkAddr('length', length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const idx = this.readLock();
      try {
        const frame = this.lookupFrame(a);
        if (frame < 0) throw new KvmError('EFAULT', `host read at ${hex(a)}: not mapped`);
        if (frame > 0) out.set(this.frameBytes.subarray(frame * PAGE_SIZE + off, frame * PAGE_SIZE + off + n), done);
      } finally {
        this.readUnlock(idx);
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
      const idx = this.readLock();
      try {
        const frame = this.faultIn(a - off);
        this.frameBytes.set(data.subarray(done, done + n), frame * PAGE_SIZE + off);
      } finally {
        this.readUnlock(idx);
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
        const i = this.vmaFind(a);
        if (i < 0) { ok = false; break; }
        a = this.vmas[2 * i + 1];
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

  /** Gives this thread's host reader back (the VM or view owning this HostMemory is going away). */
  release(): void {
    this.srcuReader?.release();
    this.srcuReader = undefined;
  }

  /**
   * handle_mm_fault for a write: returns the frame backing the page at `addr`, allocating a zeroed
   * one if absent. Safe against concurrent faults, munmap and dontneed from any thread. Use the
   * frame only inside a readLock section.
   */
  faultIn(addr: number): number {
    const vpn = Math.floor(addr / PAGE_SIZE);
    for (;;) {
      const seq = this.readBegin();
      if (this.vmaFind(addr) < 0) {
        if (this.readRetry(seq)) continue;
        throw new KvmError('EFAULT', `host page fault at ${hex(addr)}: not mapped`);
      }
      const leaf = this.pageTable.leaf(vpn, true);
      const cur = Atomics.load(this.pt, leaf);
      if (cur !== 0) return cur;
      const frame = this.allocFrame();
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

  /** The frame mapped at `addr`: > 0 present, 0 mapped but absent, -1 not mapped. */
  lookupFrame(addr: number): number {
    for (;;) {
      const seq = this.readBegin();
      if (this.vmaFind(addr) < 0) {
        if (this.readRetry(seq)) continue;
        return -1;
      }
      const leaf = this.pageTable.leaf(Math.floor(addr / PAGE_SIZE), false);
      const f = leaf < 0 ? 0 : Atomics.load(this.pt, leaf);
      if (!this.readRetry(seq)) return f;
    }
  }

  /** The mappings, as [start, end) pairs in ascending order. */
  vmaList(): Array<[number, number]> {
    for (;;) {
      const seq = this.readBegin();
      const n = Atomics.load(this.ctl, NR_VMAS);
      const out: Array<[number, number]> = [];
      for (let i = 0; i < n; i++) out.push([this.vmas[2 * i], this.vmas[2 * i + 1]]);
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

  private zapPtes(start: number, end: number): void {
    let freed = 0;
    this.pageTable.forEachLeafRun(start / PAGE_SIZE, end / PAGE_SIZE, (first, count) => {
      for (let i = first; i < first + count; i++) {
        const f = Atomics.exchange(this.pt, i, 0);
        if (f !== 0) { this.deferFree(f); freed++; }
      }
    });
    if (freed) Atomics.sub(this.ctl, RESIDENT, freed);
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

  /** Index of the VMA containing `addr`, or -1 (binary search; caller validates with the seqcount). */
  private vmaFind(addr: number): number {
    let lo = 0;
    let hi = Atomics.load(this.ctl, NR_VMAS) - 1;
    const v = this.vmas;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (addr < v[2 * mid]) hi = mid - 1;
      else if (addr >= v[2 * mid + 1]) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Highest free range of `len` bytes below MMAP_BASE (top-down allocation). Caller holds mmap_lock. */
  private findGap(len: number): number {
    const n = this.ctl[NR_VMAS];
    let ceiling = MMAP_BASE;
    for (let i = n - 1; i >= 0; i--) {
      const s = this.vmas[2 * i];
      const e = this.vmas[2 * i + 1];
      if (s >= MMAP_BASE) continue;
      if (e <= ceiling - len) return ceiling - len;
      ceiling = Math.min(ceiling, s);
    }
    check(ceiling - len >= 0x10000, 'ENOMEM', () => `mmap: no ${len}-byte gap left in the address space`);
    return ceiling - len;
  }

  /** Inserts [start, end), merging with adjacent VMAs (anonymous VMAs merge in Linux too). */
  private vmaInsert(start: number, end: number): void {
    const list = this.vmaListLocked().filter(([s, e]) => e <= start || s >= end);
    list.push([start, end]);
    this.vmaStore(list);
  }

  /** Removes [start, end) from every VMA, splitting where needed. */
  private vmaRemove(start: number, end: number): void {
    const out: Array<[number, number]> = [];
    for (const [s, e] of this.vmaListLocked()) {
      if (e <= start || s >= end) { out.push([s, e]); continue; }
      if (s < start) out.push([s, start]);
      if (e > end) out.push([end, e]);
    }
    this.vmaStore(out);
  }

  private vmaListLocked(): Array<[number, number]> {
    const n = this.ctl[NR_VMAS];
    const out: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) out.push([this.vmas[2 * i], this.vmas[2 * i + 1]]);
    return out;
  }

  private vmaStore(list: Array<[number, number]>): void {
    list.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const r of list) {
      const last = merged[merged.length - 1];
      if (last && last[1] === r[0]) last[1] = r[1];
      else merged.push([r[0], r[1]]);
    }
    check(merged.length <= MAX_MAP_COUNT, 'ENOMEM', () => `more than ${MAX_MAP_COUNT} mappings (vm.max_map_count)`);
    merged.forEach(([s, e], i) => { this.vmas[2 * i] = s; this.vmas[2 * i + 1] = e; });
    Atomics.store(this.ctl, NR_VMAS, merged.length);
  }
}

/** Formats an address for messages. */
export function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}
