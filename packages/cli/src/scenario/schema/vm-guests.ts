/** The vCPUs of a `vm` step and their guests: the built-in ones with checked arguments, or a module. */
import * as z from 'zod';
import { KVM_MAX_VCPUS } from '@vcpu-rt/core';
import { bool, byteSize, intIn, oneOf } from './common.js';
import { MAX_GPA, slotId } from './vm-host.js';

/** memstress: over a memslot of the step (split between the entry's vCPUs), or over gpa + pages each. */
export const memstressArgs = z.strictObject({
  slot: slotId.optional(),
  gpa: byteSize(0, MAX_GPA, 8).optional(),
  pages: intIn(1, 2 ** 24).optional(),
  /** Bytes between two accesses: 4096 touches one word per page, as memstress. */
  stride: intIn(8, 4096).refine((s) => s % 8 === 0, { error: 'must be a multiple of 8 in [8, 4096]' }).default(4096),
  passes: intIn(1, 1_000_000).default(1),
  write: bool().default(true),
  /** Rounds, each ending with a sync exit; default: until the step ends. */
  rounds: intIn(1, 2 ** 31 - 1).optional(),
}).refine((a) => (a.slot !== undefined ? a.gpa === undefined && a.pages === undefined : a.gpa !== undefined && a.pages !== undefined), {
  error: 'needs either slot, or gpa and pages',
});

const accessSize = z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)], { error: 'must be 1, 2, 4 or 8' });

/** One op of the `ops` guest (docs/api.md). */
export const op = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('read'), gpa: byteSize(0, MAX_GPA, 1), size: accessSize }),
  z.strictObject({ op: z.literal('write'), gpa: byteSize(0, MAX_GPA, 1), size: accessSize, value: z.int({ error: 'must be an integer' }) }),
  z.strictObject({ op: z.literal('ucall') }),
]);

/** What every vCPU entry has besides its guest. */
const vcpuCommon = {
  /** The first vCPU id of the entry; default: the next after the previous entry's. */
  id: intIn(0, KVM_MAX_VCPUS - 1).optional(),
  /** vCPUs running this guest, ids id, id+1, ... */
  count: intIn(1, 64).default(1),
  /**
   * KVM_RUN handoff polling of the VMM loop on the main thread: 0 (default) sleeps, because that
   * thread also drives the timeline and a spin there would delay it.
   */
  runPollNs: intIn(0, 2 ** 31 - 1).default(0),
};

/** A vCPU entry, told apart by `guest`: memstress, ops, memslot-perf, pci-scan, or module. */
export const vcpuEntry = z.discriminatedUnion('guest', [
  z.strictObject({ guest: z.literal('memstress'), ...vcpuCommon, args: memstressArgs }),
  z.strictObject({ guest: z.literal('ops'), ...vcpuCommon, args: z.strictObject({ ops: z.array(op, { error: 'must be a list of ops' }) }) }),
  z.strictObject({
    guest: z.literal('memslot-perf'), ...vcpuCommon,
    args: z.strictObject({ test: oneOf(['map', 'unmap', 'move', 'rw']), gpa: byteSize(0, MAX_GPA), size: byteSize(8192, 2 ** 40, 8192) }),
  }),
  z.strictObject({
    guest: z.literal('pci-scan'), ...vcpuCommon,
    args: z.strictObject({
      ecamBase: byteSize(0, MAX_GPA),
      buses: intIn(1, 256).default(256),
      strayWrites: intIn(0, 100_000).default(0),
      rounds: intIn(1, 1_000_000).default(1),
    }),
  }),
  z.strictObject({
    guest: z.literal('module'), ...vcpuCommon,
    /** An ESM file, relative to the scenario file. */
    module: z.string({ error: 'must be the path of an ESM file' }).min(1, { error: 'must be the path of an ESM file' }),
    /** The export to run: `(ctx, args) => void`. */
    export: z.string({ error: 'must be an export name' }).regex(/^[A-Za-z_$][\w$]*$/, { error: 'must be an export name' }).default('main'),
    args: z.unknown().optional(),
  }),
]);
