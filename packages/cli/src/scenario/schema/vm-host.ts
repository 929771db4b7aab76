/** The host side of a `vm` step: host memory regions, memslots over them, and capabilities. */
import * as z from 'zod';
import { KVM_USER_MEM_SLOTS } from '@vcpu-rt/core';
import { bool, byteSize, intIn, oneOf } from './common.js';
import { CAP_ARG_NAMES, CAP_NAMES, MEMSLOT_FLAG_NAMES } from './vm-names.js';

/** Largest guest physical address a scenario may name: 52 bits, the x86 architectural limit. */
export const MAX_GPA = 2 ** 52;
/** Largest host mapping: mappings are lazily backed, so only populated pages count against host memory. */
export const MAX_REGION_BYTES = 64 * 2 ** 30;
/** Host physical memory of a VM: HostMemory's [8 KiB, 4 GiB], from 1 MiB here. */
export const HOST_MEMORY = { min: 2 ** 20, max: 2 ** 32 };

/** A name other fields refer to: a letter, then letters, digits, `-` or `_`. */
export const refName = z.string({ error: 'must be a name (a letter, then letters, digits, - or _)' })
  .regex(/^[A-Za-z][\w-]*$/, { error: 'must be a name (a letter, then letters, digits, - or _)' });

/** A memslot id: bits 0-15 of `slot`, below KVM_USER_MEM_SLOTS. */
export const slotId = intIn(0, KVM_USER_MEM_SLOTS - 1);
/** An address space: 0, or 1 (SMM) when the VM has two. */
export const asId = intIn(0, 1).default(0);
/** A guest physical address: page aligned (the kernel's rule for guest_phys_addr). */
export const gpa = byteSize(0, MAX_GPA);
/** Memslot flags by name: LOG_DIRTY_PAGES, READONLY, PCI_HOLE, ABSENT_MAPPING_FAULT (KVM_MEM_ prefix optional). */
export const memslotFlagList = z.array(oneOf(MEMSLOT_FLAG_NAMES), { error: 'must be a list of flag names' }).default([]);

/** A host memory region: an mmap of anonymous memory or of a memfd, which memslots point into. */
export const region = z.strictObject({
  name: refName,
  size: byteSize(4096, MAX_REGION_BYTES),
  /** Back it with a memfd (shmem, its own page cache) instead of anonymous memory. */
  memfd: bool().default(false),
  /** MAP_POPULATE: fault every page in at set-up. */
  populate: bool().default(false),
});

/**
 * One memslot, or with `count` that many consecutive ones: ids slot, slot+1, ..., each `size`
 * bytes, at consecutive guest addresses from `gpa` and consecutive offsets of `region` from `offset`.
 */
export const memslot = z.strictObject({
  slot: slotId,
  count: intIn(1, KVM_USER_MEM_SLOTS).default(1),
  asId,
  gpa,
  size: byteSize(4096, MAX_REGION_BYTES),
  /** The region behind the slot; none for a slot with no memory (userspace_addr 0: PCI_HOLE). */
  region: refName.optional(),
  offset: byteSize(0, MAX_REGION_BYTES).default(0),
  flags: memslotFlagList,
});

/** KVM_ENABLE_CAP: the capability and the flags OR-ed into args[0]. */
export const enableCap = z.strictObject({
  cap: oneOf(CAP_NAMES),
  flags: z.array(oneOf(CAP_ARG_NAMES), { error: 'must be a list of flag names' }).default([]),
});

/** Host physical memory (HostMemory's frames); default: the regions' total plus 16M, at least 64M. */
export const hostMemory = byteSize(HOST_MEMORY.min, HOST_MEMORY.max);
