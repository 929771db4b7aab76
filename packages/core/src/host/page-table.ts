/**
 * A 4-level radix tree of 512-entry Int32 tables like x86-64's, in a SharedArrayBuffer so that any
 * thread can walk it: the host page table (hva -> frame) and KVM's TDP table (gfn -> spte) are both
 * one. Entries hold a table number or a leaf value; 0 means absent. Tables are allocated under a
 * lock and never freed, so walkers need no protection beyond atomic entry loads.
 */
import { KvmError } from '../errors.js';
import type { SabMutex } from '../sync/mutex.js';

/** Entries per table (9 bits of address per level). */
export const PT_ENTRIES = 512;
/** Page numbers the tree covers: 36 bits (the top level uses bits 27..35 of the page number). */
export const PT_MAX_PAGES = 2 ** 36;
const SPAN = [2 ** 27, 2 ** 18, PT_ENTRIES, 1]; // pages under one entry, by level

/** Walks and fills a radix table; one instance per thread and table. */
export class PageTable {
  constructor(
    readonly pt: Int32Array,
    private readonly ctl: Int32Array,
    private readonly tablesWord: number,
    private readonly maxTables: number,
    private readonly lock: SabMutex,
  ) {}

  /** Index in `pt` of the leaf entry for page `pn`, or -1 if a table on the way is missing and `alloc` is false. */
  leaf(pn: number, alloc: boolean): number {
    if (pn >= PT_MAX_PAGES || pn < 0) return -1;
    let table = 0;
    for (let level = 0; level < 3; level++) {
      table = this.next(table, Math.floor(pn / SPAN[level]) % PT_ENTRIES, alloc);
      if (table < 0) return -1;
    }
    return table * PT_ENTRIES + (pn % PT_ENTRIES);
  }

  /**
   * Calls `fn(first, count, pn)` for each run of leaf entries (indexes in `pt`; `pn` is the page of
   * `first`) that exist for pages [start, end), skipping absent subtrees: a zap of a huge, sparsely
   * mapped range stays cheap.
   */
  forEachLeafRun(start: number, end: number, fn: (first: number, count: number, pn: number) => void): void {
    this.walk(0, 0, 0, Math.max(0, start), Math.min(end, PT_MAX_PAGES), fn);
  }

  private walk(table: number, level: number, base: number, start: number, end: number, fn: (first: number, count: number, pn: number) => void): void {
    const span = SPAN[level];
    const lo = Math.max(0, Math.floor((start - base) / span));
    const hi = Math.min(PT_ENTRIES - 1, Math.floor((end - 1 - base) / span));
    if (level === 3) {
      if (hi >= lo) fn(table * PT_ENTRIES + lo, hi - lo + 1, base + lo);
      return;
    }
    for (let i = lo; i <= hi; i++) {
      const child = Atomics.load(this.pt, table * PT_ENTRIES + i);
      if (child !== 0) this.walk(child, level + 1, base + i * span, start, end, fn);
    }
  }

  private next(table: number, index: number, alloc: boolean): number {
    const slot = table * PT_ENTRIES + index;
    const e = Atomics.load(this.pt, slot);
    if (e !== 0) return e;
    if (!alloc) return -1;
    this.lock.lock();
    try {
      const again = Atomics.load(this.pt, slot);
      if (again !== 0) return again;
      const n = Atomics.load(this.ctl, this.tablesWord);
      if (n >= this.maxTables) throw new KvmError('ENOMEM', `page tables exhausted (${this.maxTables} tables)`);
      Atomics.store(this.ctl, this.tablesWord, n + 1);
      Atomics.store(this.pt, slot, n);
      return n;
    } finally {
      this.lock.unlock();
    }
  }
}
