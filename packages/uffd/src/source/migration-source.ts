/**
 * The migration source: a snapshot of the guest's memory, built, placed and checked by a piscina
 * pool of source workers, and served page by page through PageServer.
 */
import { availableParallelism } from 'node:os';
import type { VmHandle } from '@vcpu-rt/core';
import { Piscina } from 'piscina';
import { PAGE_SERVER_STAT_WORDS, type PageServerHandle } from './page-server.js';
import type { SourceTask, VerifyResult } from './source-worker.js';

const CHUNK = 4096; // pages per task

/** A source VM's memory and the pool that works on it. */
export class MigrationSource {
  /** What PageServers in any thread need. */
  readonly server: PageServerHandle;

  private constructor(private readonly pool: Piscina, readonly pages: number, readonly baseGfn: number, fetchLatencyUs: number) {
    this.server = {
      snapshot: new SharedArrayBuffer(pages * 4096),
      stats: new SharedArrayBuffer(PAGE_SERVER_STAT_WORDS * 4),
      fetchLatencyUs,
    };
  }

  /** A source of `pages` pages of guest memory from gfn `baseGfn`, filled with the pattern in parallel. */
  static async create(pages: number, baseGfn: number, fetchLatencyUs: number): Promise<MigrationSource> {
    const threads = Math.max(1, availableParallelism());
    const pool = new Piscina({
      filename: new URL('./source-worker.js', import.meta.url).href,
      minThreads: 1, maxThreads: threads, idleTimeout: 2000,
    });
    const src = new MigrationSource(pool, pages, baseGfn, fetchLatencyUs);
    try {
      await src.each((first, count) => ({ op: 'fill', snapshot: src.server.snapshot, baseGfn, first, count }));
    } catch (e) {
      await pool.destroy();
      throw e;
    }
    return src;
  }

  /** Writes the source's pages through `hva` (an alias mapping of the destination's memfd): the page cache MINOR faults find. */
  async prefault(vm: VmHandle, hva: number): Promise<void> {
    await this.each((first, count) => ({ op: 'prefault', vm, hva, snapshot: this.server.snapshot, first, count }));
  }

  /** Compares every page the destination maps at `hva` with the source; returns the pages that differ. */
  async verify(vm: VmHandle, hva: number): Promise<VerifyResult> {
    const parts = await this.each((first, count) => ({ op: 'verify', vm, hva, baseGfn: this.baseGfn, first, count })) as VerifyResult[];
    return {
      badPages: parts.reduce((s, r) => s + r.badPages, 0),
      firstBadPage: parts.find((r) => r.firstBadPage >= 0)?.firstBadPage ?? -1,
    };
  }

  /** Shuts the pool down. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private each(task: (first: number, count: number) => SourceTask): Promise<unknown[]> {
    const jobs: Promise<unknown>[] = [];
    for (let first = 0; first < this.pages; first += CHUNK) {
      jobs.push(this.pool.run(task(first, Math.min(CHUNK, this.pages - first))));
    }
    return Promise.all(jobs);
  }
}
