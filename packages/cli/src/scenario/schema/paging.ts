/** demand_paging_test's flags as scenario fields, for `bench demand-paging` and `model` steps. */
import * as z from 'zod';
import { DEMAND_PAGING_DEFAULTS } from '@vcpu-rt/uffd';
import { PAGING_PATHS } from '../../bench/demand-paging.js';
import { MODEL_BOUNDS, PAGING_BOUNDS } from './bounds.js';
import { bool, byteSize, distinctList, intIn, oneOf } from './common.js';

const B = PAGING_BOUNDS;

/** `readers`: reader threads per uffd, or `per-vcpu` (table A's -r n). */
export const readers = z.union([z.literal('per-vcpu'), intIn(B.readers.min, B.readers.max)], {
  error: `must be 'per-vcpu' or an integer in [${B.readers.min}, ${B.readers.max}]`,
});

/**
 * The fields of `bench demand-paging` (named as the command's options), with the vCPU bound of
 * the real-thread bench or of the model.
 */
export function pagingFields(which: 'real' | 'model') {
  const vcpus = which === 'real' ? B.vcpus : MODEL_BOUNDS.vcpus;
  return {
    vcpus: distinctList(intIn(vcpus.min, vcpus.max)).default([...vcpus.default]),
    bytesPerVcpu: byteSize(B.bytesPerVcpu.min, B.bytesPerVcpu.max).default(B.bytesPerVcpu.default),
    uffdMode: oneOf(['missing', 'minor']).default(DEMAND_PAGING_DEFAULTS.mode),
    singleUffd: bool().default(DEMAND_PAGING_DEFAULTS.singleUffd),
    readers: readers.default(DEMAND_PAGING_DEFAULTS.readers),
    delayUs: intIn(B.delayUs.min, B.delayUs.max).default(B.delayUs.default),
    path: distinctList(oneOf(PAGING_PATHS as unknown as [string, ...string[]])).default([...PAGING_PATHS]),
    overlap: bool().default(DEMAND_PAGING_DEFAULTS.overlap),
    fetchLatencyUs: intIn(B.fetchLatencyUs.min, B.fetchLatencyUs.max).default(B.fetchLatencyUs.default),
    wake: oneOf(['all', 'exclusive']).default(DEMAND_PAGING_DEFAULTS.wake),
  };
}

/** The fields of a real-thread run beyond the shared ones: `--warmup-pages` and `--repeat`. */
export const realRunFields = {
  warmupPages: intIn(B.warmupPages.min, B.warmupPages.max).default(B.warmupPages.default),
  repeat: intIn(B.repeat.min, B.repeat.max).default(B.repeat.default),
};
