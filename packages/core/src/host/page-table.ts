/**
 * The host page table: hva -> frame, a 4-level radix tree of 512-entry tables like x86-64's,
 * in a SharedArrayBuffer so that any thread can walk it. Entries hold a table or frame number;
 * 0 means absent. Tables are allocated under the frame lock and never freed.
 */
import { KvmError } from '../errors.js';
import type { SabMutex } from '../sync/mutex.js';

/** Entries per table (9 bits of address per level). */
export const PT_ENTRIES = 512;

/** Walks and fills the page table; shared by every thread's HostMemory view. */
export class PageTable {
  constructor(
    readonly pt: Int32Array,
    private readonly ctl: Int32Array,
    private readonly tablesWord: number,
    private readonly maxTables: number,
    private readonly lock: SabMutex,
  ) {}

  /** Index in `pt` of the leaf entry for virtual page `vpn`, or -1 if a table on the way is missing and `alloc` is false. */
  leaf(vpn: number, alloc: boolean): number {
    if (vpn >= 2 ** 35) return -1; // past the 47-bit user address space
    let table = 0;
    table = this.next(table, Math.floor(vpn / 134217728), alloc); // bits 39..46
    if (table < 0) return -1;
    table = this.next(table, Math.floor(vpn / 262144) % PT_ENTRIES, alloc); // bits 30..38
    if (table < 0) return -1;
    table = this.next(table, Math.floor(vpn / PT_ENTRIES) % PT_ENTRIES, alloc); // bits 21..29
    if (table < 0) return -1;
    return table * PT_ENTRIES + (vpn % PT_ENTRIES);
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
      if (n >= this.maxTables) throw new KvmError('ENOMEM', `host page tables exhausted (${this.maxTables} tables)`);
      Atomics.store(this.ctl, this.tablesWord, n + 1);
      Atomics.store(this.pt, slot, n);
      return n;
    } finally {
      this.lock.unlock();
    }
  }
}
