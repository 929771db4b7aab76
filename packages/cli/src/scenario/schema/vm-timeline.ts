/**
 * The timeline of a `vm` step: host-side actions at a time (`at`) or repeated (`every` seconds from
 * `from` until `until`), while the guests run.
 */
import * as z from 'zod';
import { KVM_USER_MEM_SLOTS } from '@vcpu-rt/core';
import { bool, byteSize, intIn } from './common.js';
import { asId, gpa, MAX_REGION_BYTES, memslotFlagList, refName, slotId } from './vm-host.js';

/** Longest `duration` of a vm step, and so the latest time of an action. */
export const MAX_DURATION = 600;
/** Shortest `every`: the event loop's timer resolution; higher rates batch several operations per tick. */
export const MIN_EVERY = 0.001;

const at = (what: string) => z.number({ error: `must be ${what}` }).min(0, { error: `must be ${what}` }).max(MAX_DURATION, { error: `must be ${what}` });

/** When an action happens. */
const timing = {
  /** Once, this many seconds after the guests start. */
  at: at(`a time in seconds in [0, ${MAX_DURATION}]`).optional(),
  /** Repeatedly, with this many seconds between two occurrences. */
  every: at(`a period in seconds in [${MIN_EVERY}, ${MAX_DURATION}]`).min(MIN_EVERY, { error: `must be a period in seconds in [${MIN_EVERY}, ${MAX_DURATION}]` }).optional(),
  /** First occurrence of an `every` action (default 0). */
  from: at(`a time in seconds in [0, ${MAX_DURATION}]`).optional(),
  /** No occurrence after this time (default: the step's duration). */
  until: at(`a time in seconds in [0, ${MAX_DURATION}]`).optional(),
};

/**
 * Memslot churn: a pool of `count` slots (ids from `slot`) that each occurrence takes `batch` steps
 * through, round-robin: create at its place, move by `moveBy`, delete, create again, ...
 */
export const churnAction = z.strictObject({
  action: z.literal('churn'),
  ...timing,
  slot: slotId,
  count: intIn(1, 4096).default(16),
  asId,
  gpa,
  size: byteSize(4096, MAX_REGION_BYTES).default(65536),
  region: refName,
  offset: byteSize(0, MAX_REGION_BYTES).default(0),
  /** Bytes a move adds to a slot's gpa; default: the pool's size, so moved slots sit just past it. */
  moveBy: byteSize(4096, 2 ** 48).optional(),
  flags: memslotFlagList,
  batch: intIn(1, 10_000).default(1),
});

/** One KVM_SET_USER_MEMORY_REGION, as written: create, move, change flags, or delete with `size: 0`. */
export const memslotAction = z.strictObject({
  action: z.literal('memslot'),
  ...timing,
  slot: slotId,
  asId,
  gpa: gpa.default(0),
  size: byteSize(0, MAX_REGION_BYTES),
  region: refName.optional(),
  offset: byteSize(0, MAX_REGION_BYTES).default(0),
  flags: memslotFlagList,
});

/** madvise(MADV_DONTNEED) of part of a region: pages dropped, guest mappings zapped through the MMU notifier. */
export const dontneedAction = z.strictObject({
  action: z.literal('dontneed'),
  ...timing,
  region: refName,
  offset: byteSize(0, MAX_REGION_BYTES).default(0),
  /** Default: the rest of the region. */
  size: byteSize(4096, MAX_REGION_BYTES).optional(),
});

/**
 * A dirty-log round of a precopy pass: KVM_GET_DIRTY_LOG of the slot, then (with manual protection,
 * or `clear: true`) KVM_CLEAR_DIRTY_LOG of what it returned, which write-protects those pages again.
 */
export const dirtyLogAction = z.strictObject({
  action: z.literal('dirty-log'),
  ...timing,
  slot: intIn(0, KVM_USER_MEM_SLOTS - 1),
  asId,
  clear: bool().optional(),
});

/** Any action, told apart by `action`. */
export const timelineAction = z.discriminatedUnion('action', [churnAction, memslotAction, dontneedAction, dirtyLogAction]).superRefine((a, ctx) => {
  if ((a.at === undefined) === (a.every === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'needs exactly one of at (once) or every (repeated)' });
  else if (a.at !== undefined && (a.from !== undefined || a.until !== undefined)) ctx.addIssue({ code: 'custom', path: ['at'], message: 'from and until go with every, not at' });
  else if (a.from !== undefined && a.until !== undefined && a.until < a.from) ctx.addIssue({ code: 'custom', path: ['until'], message: `must not be before from (${a.from})` });
});
