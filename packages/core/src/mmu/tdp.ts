/**
 * The TDP table (the EPT/NPT the TDP MMU builds): gfn -> spte, a 4-level radix tree in a
 * SharedArrayBuffer that every vCPU thread walks on a TLB miss. Layout: docs/mmu.md.
 */
import { PageTable, PT_ENTRIES } from '../host/page-table.js';
import { SabMutex } from '../sync/mutex.js';
import { SPTE_WRITABLE } from './spte.js';

const TABLE_LOCK = 0;
const TABLES = 1; // tables allocated; the root is table 0
const MAX_TABLES = 2;
const CTL_WORDS = 4;

/** The TDP table's buffers. */
export interface TdpHandle {
  ctl: SharedArrayBuffer;
  tables: SharedArrayBuffer;
}

/** One thread's view of a VM's TDP table. */
export class Tdp {
  private readonly pt: Int32Array;
  private readonly table: PageTable;

  constructor(readonly h: TdpHandle) {
    const ctl = new Int32Array(h.ctl);
    this.pt = new Int32Array(h.tables);
    this.table = new PageTable(this.pt, ctl, TABLES, ctl[MAX_TABLES], new SabMutex(ctl, TABLE_LOCK));
  }

  /** An empty table with room for `maxTables` 512-entry tables (each maps 2 MiB of guest memory). */
  static create(maxTables = 16384): Tdp {
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
    ctl[TABLES] = 1;
    ctl[MAX_TABLES] = maxTables;
    return new Tdp({ ctl: ctl.buffer as SharedArrayBuffer, tables: new SharedArrayBuffer(maxTables * PT_ENTRIES * 4) });
  }

  /** The spte of `gfn`, 0 if none. */
  spte(gfn: number): number {
    const leaf = this.table.leaf(gfn, false);
    return leaf < 0 ? 0 : Atomics.load(this.pt, leaf);
  }

  /** Replaces the spte of `gfn` if it still is `old`; allocates tables on the way. */
  exchange(gfn: number, old: number, spte: number): boolean {
    const leaf = this.table.leaf(gfn, true);
    return Atomics.compareExchange(this.pt, leaf, old, spte) === old;
  }

  /** Zaps every spte of gfns [start, end); returns how many were present. */
  zapRange(start: number, end: number): number {
    let n = 0;
    this.table.forEachLeafRun(start, end, (first, count) => {
      for (let i = first; i < first + count; i++) if (Atomics.exchange(this.pt, i, 0) !== 0) n++;
    });
    return n;
  }

  /** Clears the writable bit of the sptes of gfns [start, end) for which `pick(gfn)` holds; returns how many changed. */
  writeProtectRange(start: number, end: number, pick?: (gfn: number) => boolean): number {
    let n = 0;
    this.table.forEachLeafRun(start, end, (first, count, gfn0) => {
      for (let i = first; i < first + count; i++) {
        const s = Atomics.load(this.pt, i);
        if (!(s & SPTE_WRITABLE)) continue;
        if (pick && !pick(gfn0 + (i - first))) continue;
        if (Atomics.compareExchange(this.pt, i, s, s & ~SPTE_WRITABLE) === s) n++;
      }
    });
    return n;
  }

  /** Sptes currently present (for stats and tests). */
  countPresent(start: number, end: number): number {
    let n = 0;
    this.table.forEachLeafRun(start, end, (first, count) => {
      for (let i = first; i < first + count; i++) if (Atomics.load(this.pt, i) !== 0) n++;
    });
    return n;
  }
}
