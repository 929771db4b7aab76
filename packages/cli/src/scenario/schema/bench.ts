/** `kind: bench` steps: one of the existing benches, with its flags under their own names and bounds. */
import * as z from 'zod';
import { PCI_HOLE_STRATEGIES } from '@vcpu-rt/vcpu';
import { VMM_PLACEMENTS } from '../../bench/pci-hole.js';
import { MEMSLOTS_BOUNDS, PCI_HOLE_BOUNDS, VCPU_BOUNDS } from './bounds.js';
import { distinctList, intIn, oneOf, secondsIn, title } from './common.js';
import { pagingFields, realRunFields } from './paging.js';

const M = MEMSLOTS_BOUNDS;
const P = PCI_HOLE_BOUNDS;

/** `bench memslots`: memslot_perf_test on both designs (seed 004). */
export const benchMemslotsStep = z.strictObject({
  kind: z.literal('bench'),
  bench: z.literal('memslots'),
  title,
  slots: distinctList(intIn(M.slots.min, M.slots.max)).default([...M.slots.default]),
  impl: distinctList(oneOf(['tree', 'array'])).default(['tree', 'array']),
  repeat: intIn(M.repeat.min, M.repeat.max).default(M.repeat.default),
  moveSeconds: secondsIn(M.moveSeconds.max).default(M.moveSeconds.default),
});

/** `bench pci-hole`: the pci-scan boot under each strategy of seeds 000/001/003. */
export const benchPciHoleStep = z.strictObject({
  kind: z.literal('bench'),
  bench: z.literal('pci-hole'),
  title,
  strategy: distinctList(oneOf(PCI_HOLE_STRATEGIES as unknown as [string, ...string[]])).default([...PCI_HOLE_STRATEGIES]),
  vmm: distinctList(oneOf(VMM_PLACEMENTS as unknown as [string, ...string[]])).default([...VMM_PLACEMENTS]),
  repeat: intIn(P.repeat.min, P.repeat.max).default(P.repeat.default),
  strayWrites: intIn(P.strayWrites.min, P.strayWrites.max).default(P.strayWrites.default),
  runPollNs: intIn(P.runPollNs.min, P.runPollNs.max).default(P.runPollNs.default),
});

/** `bench vcpu`: the guest-access hit path. */
export const benchVcpuStep = z.strictObject({
  kind: z.literal('bench'),
  bench: z.literal('vcpu'),
  title,
  repeat: intIn(VCPU_BOUNDS.repeat.min, VCPU_BOUNDS.repeat.max).default(VCPU_BOUNDS.repeat.default),
});

/** `bench demand-paging`: demand_paging_test in real threads (seed 002), the flags of the command. */
export const benchDemandPagingStep = z.strictObject({
  kind: z.literal('bench'),
  bench: z.literal('demand-paging'),
  title,
  ...pagingFields('real'),
  ...realRunFields,
});

/** Any bench step, told apart by `bench`. */
export const benchStep = z.discriminatedUnion('bench', [benchMemslotsStep, benchPciHoleStep, benchVcpuStep, benchDemandPagingStep]);
