/**
 * memfd_create(2) memory: each memfd is a page cache of its own (shmem's address_space), indexed by
 * file page, whose frames outlive the mappings that show them. Layout: docs/host-memory.md §7.
 */
import { check } from '../errors.js';
import type { SabMutex } from '../sync/mutex.js';

/** memfds one address space may create. */
export const MAX_MEMFDS = 1024;
const LOCK = 0;
const NR_FILES = 1;
const PC_USED = 2; // page-cache entries handed out to memfds
const PC_CAP = 3;
/** Int32 words before the file table. */
export const SHMEM_HEADER_WORDS = 16;
const FILE_WORDS = 2; // [first page-cache entry, pages]

/** Bytes of the `files` buffer for a page cache of `capacity` pages in all. */
export function shmemBytes(capacity: number): number {
  return (SHMEM_HEADER_WORDS + MAX_MEMFDS * FILE_WORDS + capacity) * 4;
}

/** The page caches of every memfd of an address space, in one Int32 SharedArrayBuffer. */
export class PageCaches {
  /** The word of the file table's lock (a SabMutex lives there). */
  static readonly LOCK_WORD = LOCK;
  private readonly entries: number;

  constructor(readonly i32: Int32Array, private readonly lock: SabMutex) {
    this.entries = SHMEM_HEADER_WORDS + MAX_MEMFDS * FILE_WORDS;
  }

  /** Sets the capacity of a new buffer. */
  static init(i32: Int32Array, capacity: number): void {
    i32[PC_CAP] = capacity;
  }

  /** A new memfd of `pages` pages; returns its id. ENOMEM when the page-cache index or the file table is full. */
  create(pages: number): number {
    this.lock.lock();
    try {
      const n = this.i32[NR_FILES];
      check(n < MAX_MEMFDS, 'ENOMEM', () => `memfdCreate: at most ${MAX_MEMFDS} memfds per address space`);
      const used = this.i32[PC_USED];
      check(used + pages <= this.i32[PC_CAP], 'ENOMEM', () => `memfdCreate: the page-cache index has room for ${this.i32[PC_CAP] - used} more pages, not ${pages}`);
      const f = SHMEM_HEADER_WORDS + n * FILE_WORDS;
      this.i32[f] = this.entries + used;
      this.i32[f + 1] = pages;
      this.i32[PC_USED] = used + pages;
      Atomics.store(this.i32, NR_FILES, n + 1);
      return n;
    } finally {
      this.lock.unlock();
    }
  }

  /** Memfds created so far. */
  count(): number {
    return Atomics.load(this.i32, NR_FILES);
  }

  /** Pages of memfd `id`. */
  pages(id: number): number {
    return this.i32[SHMEM_HEADER_WORDS + id * FILE_WORDS + 1];
  }

  /** Index in `i32` of the page-cache entry of page `pgoff` of memfd `id` (-1 past its end: SIGBUS). */
  entry(id: number, pgoff: number): number {
    const f = SHMEM_HEADER_WORDS + id * FILE_WORDS;
    return pgoff >= 0 && pgoff < this.i32[f + 1] ? this.i32[f] + pgoff : -1;
  }

  /** The frame cached at `entry`, 0 if none (a hole). */
  frame(entry: number): number {
    return Atomics.load(this.i32, entry);
  }

  /** Caches `frame` at `entry` unless another thread did first; returns the frame that is cached now. */
  add(entry: number, frame: number): number {
    const seen = Atomics.compareExchange(this.i32, entry, 0, frame);
    return seen === 0 ? frame : seen;
  }
}
