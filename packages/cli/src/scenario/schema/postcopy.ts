/**
 * `kind: postcopy` steps: demand paging after a postcopy switch-over, in the words of a migration
 * set-up rather than of the selftest's flags. It runs `bench demand-paging`.
 */
import * as z from 'zod';
import { DEMAND_PAGING_DEFAULTS } from '@vcpu-rt/uffd';
import { PAGING_BOUNDS } from './bounds.js';
import { bool, byteSize, distinctList, intIn, oneOf, title } from './common.js';
import { readers } from './paging.js';

const B = PAGING_BOUNDS;

/** A postcopy set-up, measured on both fault paths (or one). */
export const postcopyStep = z.strictObject({
  kind: z.literal('postcopy'),
  title,
  /** `uffd`: faults wait on the userfaultfd's queues; `exit`: memory-fault exits (seed 002); `both`: one after the other. */
  path: oneOf(['uffd', 'exit', 'both']).default('both'),
  /** One userfaultfd for all guest memory (-a), or one per vCPU. */
  uffds: oneOf(['one', 'per-vcpu']).default(DEMAND_PAGING_DEFAULTS.singleUffd ? 'one' : 'per-vcpu'),
  readers: readers.default(DEMAND_PAGING_DEFAULTS.readers),
  fetchLatencyUs: intIn(B.fetchLatencyUs.min, B.fetchLatencyUs.max).default(B.fetchLatencyUs.default),
  mode: oneOf(['missing', 'minor']).default(DEMAND_PAGING_DEFAULTS.mode),
  bytesPerVcpu: byteSize(B.bytesPerVcpu.min, B.bytesPerVcpu.max).default(B.bytesPerVcpu.default),
  vcpus: distinctList(intIn(B.vcpus.min, B.vcpus.max)).default([...B.vcpus.default]),
  wake: oneOf(['all', 'exclusive']).default(DEMAND_PAGING_DEFAULTS.wake),
  repeat: intIn(B.repeat.min, B.repeat.max).default(B.repeat.default),
  warmupPages: intIn(B.warmupPages.min, B.warmupPages.max).default(B.warmupPages.default),
  delayUs: intIn(B.delayUs.min, B.delayUs.max).default(B.delayUs.default),
  overlap: bool().default(DEMAND_PAGING_DEFAULTS.overlap),
});
