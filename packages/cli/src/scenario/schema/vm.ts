/**
 * `kind: vm` steps: the scenario's own VM — its memslot design, host memory, memslots, vCPUs and
 * guests, a timeline of host-side actions, a duration, and what to measure. Cross-field rules
 * (names that must exist, ranges that must fit, ids that must not repeat) are checked here, so that
 * a mistake is reported at its place before any thread starts; the kernel's own rules (overlapping
 * slots, flag combinations, capabilities) are left to the engine, whose errors are located too.
 */
import * as z from 'zod';
import { KVM_USER_MEM_SLOTS } from '@vcpu-rt/core';
import { distinctList, oneOf, sizeText, title } from './common.js';
import { enableCap, hostMemory, memslot, region } from './vm-host.js';
import { vcpuEntry } from './vm-guests.js';
import { MAX_DURATION, timelineAction } from './vm-timeline.js';
import { CAP_NAMES } from './vm-names.js';

/** What a vm step can report. */
export const MEASURES = ['accesses', 'exits', 'generation', 'churn', 'dirty-log', 'mmu', 'memory'] as const;
/** One of MEASURES. */
export type Measure = (typeof MEASURES)[number];

const design = oneOf(['tree', 'array']);

/** The vm step. */
export const vmStep = z.strictObject({
  kind: z.literal('vm'),
  title,
  /** Memslot design: `tree` (5.17+), `array` (before), or a list: the step runs once per design. */
  design: z.union([design, distinctList(design)], { error: 'must be tree, array, or a list of them' }).default('tree')
    .describe('Memslot design: tree (5.17+), array (before), or a list: one run per design.'),
  addressSpaces: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }).default(1).describe('1, or 2 for x86 SMM.'),
  /** Capabilities to report as absent, modelling an older kernel. */
  disabledCaps: z.array(oneOf(CAP_NAMES), { error: 'must be a list of KVM_CAP_ names' }).default([]).describe('Capabilities the VM reports absent (an older kernel).'),
  enableCaps: z.array(enableCap, { error: 'must be a list' }).default([]).describe('KVM_ENABLE_CAP calls: { cap, flags } with the flags OR-ed into args[0].'),
  hostMemory: hostMemory.optional().describe('Host physical memory; default: the regions plus 16M, at least 64M.'),
  regions: z.array(region, { error: 'must be a list of regions' }).min(1, { error: 'must list at least one region' })
    .describe('Host memory regions (mmap, anonymous or memfd) that memslots point into.'),
  memslots: z.array(memslot, { error: 'must be a list of memslots' }).default([]).describe('KVM_SET_USER_MEMORY_REGION at set-up, in order.'),
  vcpus: z.array(vcpuEntry, { error: 'must be a list of vCPUs' }).min(1, { error: 'must list at least one vCPU' })
    .describe('vCPUs and their guests: memstress, ops, memslot-perf, pci-scan or module.'),
  timeline: z.array(timelineAction, { error: 'must be a list of actions' }).default([])
    .describe('Host-side actions at a time (at) or repeated (every): churn, memslot, dontneed, dirty-log.'),
  /** Seconds the guests run for (the timeline's clock starts with them). */
  duration: z.number({ error: `must be a number of seconds in (0, ${MAX_DURATION}]` })
    .positive({ error: `must be a number of seconds in (0, ${MAX_DURATION}]` }).max(MAX_DURATION, { error: `must be a number of seconds in (0, ${MAX_DURATION}]` }),
  /** Width of a time-series interval, seconds. */
  interval: z.number({ error: 'must be a number of seconds in [0.01, 10]' }).min(0.01, { error: 'must be a number of seconds in [0.01, 10]' })
    .max(10, { error: 'must be a number of seconds in [0.01, 10]' }).default(0.1),
  measure: distinctList(oneOf(MEASURES)).default([...MEASURES]).describe('What the section reports.'),
}).superRefine((s, ctx) => {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const regions = new Map<string, number>();
  s.regions.forEach((r, i) => {
    if (regions.has(r.name)) issue(['regions', i, 'name'], `region '${r.name}' is declared twice`);
    regions.set(r.name, r.size);
  });
  const names = () => [...regions.keys()].join(', ');
  const fits = (path: PropertyKey[], name: string | undefined, offset: number, bytes: number) => {
    if (name === undefined) return;
    const size = regions.get(name);
    if (size === undefined) issue([...path, 'region'], `names no region (regions: ${names()})`);
    else if (offset + bytes > size) issue([...path, 'offset'], `offset ${sizeText(offset)} + ${sizeText(bytes)} runs past region '${name}' (${sizeText(size)})`);
  };
  // Slot ids per address space, and which entry took each.
  const owner = new Map<number, number>();
  s.memslots.forEach((m, i) => {
    fits(['memslots', i], m.region, m.offset, m.size * m.count);
    if (m.slot + m.count > KVM_USER_MEM_SLOTS) issue(['memslots', i, 'count'], `slot + count - 1 must be below ${KVM_USER_MEM_SLOTS}`);
    for (let id = m.slot; id < m.slot + m.count; id++) {
      const key = (m.asId << 16) | id;
      const prev = owner.get(key);
      if (prev !== undefined) {
        issue(['memslots', i, 'slot'], `slot ${id} of address space ${m.asId} is already declared by memslots[${prev}]`);
        return;
      }
      owner.set(key, i);
    }
  });
  const declared = (slot: number, as: number) => owner.has((as << 16) | slot);
  let next = 0;
  const vcpuIds = new Set<number>();
  s.vcpus.forEach((v, i) => {
    const first = v.id ?? next;
    for (let id = first; id < first + v.count; id++) {
      if (vcpuIds.has(id)) {
        issue(['vcpus', i, v.id === undefined ? 'count' : 'id'], `vCPU ${id} is declared twice`);
        return;
      }
      vcpuIds.add(id);
    }
    next = first + v.count;
    if (v.guest === 'memstress' && v.args.slot !== undefined) {
      if (!declared(v.args.slot, 0)) issue(['vcpus', i, 'args', 'slot'], `names no memslot of address space 0 of this step`);
    }
  });
  s.timeline.forEach((a, i) => {
    const path = ['timeline', i];
    for (const k of ['at', 'from', 'until'] as const) {
      const t = a[k];
      if (t !== undefined && t > s.duration) issue([...path, k], `must not be after the step's duration (${s.duration} s)`);
    }
    if (a.action === 'churn') {
      fits(path, a.region, a.offset, a.size * a.count);
      for (let id = a.slot; id < a.slot + a.count; id++) {
        if (declared(id, a.asId)) {
          issue([...path, 'slot'], `the churn pool's slot ${id} is one of the step's memslots: churn needs slots of its own`);
          break;
        }
      }
      if (a.slot + a.count > KVM_USER_MEM_SLOTS) issue([...path, 'count'], `slot + count - 1 must be below ${KVM_USER_MEM_SLOTS}`);
    } else if (a.action === 'memslot') {
      fits(path, a.region, a.offset, a.size);
    } else if (a.action === 'dontneed') {
      const size = regions.get(a.region);
      fits(path, a.region, a.offset, a.size ?? Math.max(0, (size ?? 0) - a.offset));
    }
  });
});

/** A parsed vm step. */
export type VmStep = z.output<typeof vmStep>;

