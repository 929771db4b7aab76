/**
 * What every thread of a demand-paging run shares: where guest memory is, how it is backed and
 * served, and the run's counters. Structured-cloneable.
 */
import type { UserfaultfdHandle, VmHandle } from '@vcpu-rt/core';
import type { PageServerHandle } from './source/page-server.js';

/** The shared description of one run. */
export interface PostcopyLayout {
  vm: VmHandle;
  /** Guest physical address of page 0. */
  gpa: number;
  /** Where the guest's memory is mapped in the VMM (the registered mapping). */
  hva: number;
  /** Pages of guest memory. */
  pages: number;
  /** Pages each uffd covers (all of them with one uffd); the last uffd also covers the warm-up regions. */
  pagesPerUffd: number;
  mode: 'missing' | 'minor';
  /** The uffds, in page order. */
  uffds: UserfaultfdHandle[];
  server: PageServerHandle;
  /** Int32 per page, the exit path's claim bitmap: PAGE_ABSENT, PAGE_FETCHING, PAGE_WAITED, PAGE_PRESENT. */
  claims: SharedArrayBuffer;
  /** Int32 counters (RUN_*). */
  counters: SharedArrayBuffer;
}

/** Claim states of the exit path's bitmap. */
export const PAGE_ABSENT = 0;
export const PAGE_FETCHING = 1;
export const PAGE_PRESENT = 2;
/** Being fetched, and another vCPU sleeps until it is present. */
export const PAGE_WAITED = 3;

/** Counters, one cache line per group: exit path, readers, control. */
export const RUN_EXIT_RESOLVED = 0;
export const RUN_EXIT_EEXIST = 1;
export const RUN_READER_RESOLVED = 16;
export const RUN_READER_EEXIST = 17;
/** Readers' explicit UFFDIO_WAKEs after EEXIST. */
export const RUN_READER_WAKES = 18;
/** Set to stop the readers. */
export const RUN_STOP = 32;
/** Int32 words of the counters. */
export const RUN_COUNTER_WORDS = 48;
