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
  /** Pages each uffd covers (all of them with one uffd). */
  pagesPerUffd: number;
  mode: 'missing' | 'minor';
  /** The uffds, in page order. */
  uffds: UserfaultfdHandle[];
  server: PageServerHandle;
  /** Int32 per page, the exit path's claim bitmap: PAGE_ABSENT, PAGE_FETCHING, PAGE_PRESENT. */
  claims: SharedArrayBuffer;
  /** Int32 counters (RUN_*). */
  counters: SharedArrayBuffer;
}

/** Claim states of the exit path's bitmap. */
export const PAGE_ABSENT = 0;
export const PAGE_FETCHING = 1;
export const PAGE_PRESENT = 2;

/** Counters: pages the exit path resolved, its EEXISTs, pages readers resolved, their EEXISTs, readers' explicit wakes. */
export const RUN_EXIT_RESOLVED = 0;
export const RUN_EXIT_EEXIST = 1;
export const RUN_READER_RESOLVED = 2;
export const RUN_READER_EEXIST = 3;
export const RUN_READER_WAKES = 4;
/** Set to stop the readers. */
export const RUN_STOP = 5;
/** Int32 words of the counters. */
export const RUN_COUNTER_WORDS = 16;
