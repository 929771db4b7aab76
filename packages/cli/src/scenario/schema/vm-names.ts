/** Kernel names a `vm` step may use for flags and capabilities, and their values. */
import * as core from '@vcpu-rt/core';

/** Memslot flags by name; the scenario may write them with or without `KVM_MEM_`. */
export const MEMSLOT_FLAGS = {
  LOG_DIRTY_PAGES: core.KVM_MEM_LOG_DIRTY_PAGES,
  READONLY: core.KVM_MEM_READONLY,
  PCI_HOLE: core.KVM_MEM_PCI_HOLE,
  ABSENT_MAPPING_FAULT: core.KVM_MEM_ABSENT_MAPPING_FAULT,
} as const;

/** Every spelling of a memslot flag. */
export const MEMSLOT_FLAG_NAMES = Object.keys(MEMSLOT_FLAGS).flatMap((n) => [n, `KVM_MEM_${n}`]) as [string, ...string[]];

/** The value of a memslot flag list. */
export function memslotFlags(names: readonly string[]): number {
  return names.reduce((f, n) => f | MEMSLOT_FLAGS[n.replace(/^KVM_MEM_/, '') as keyof typeof MEMSLOT_FLAGS], 0);
}

/** Capabilities by their KVM_CAP_ names, as @vcpu-rt/core exports them. */
export const CAPS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(core).filter(([k, v]) => k.startsWith('KVM_CAP_') && typeof v === 'number') as [string, number][],
);

/** The capability names. */
export const CAP_NAMES = Object.keys(CAPS) as [string, ...string[]];

/** Flags of `enableCap`'s args[0] by name: dirty-log protection options and memory-fault exit reasons. */
export const CAP_ARG_FLAGS: Readonly<Record<string, number>> = {
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE: core.KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_DIRTY_LOG_INITIALLY_SET: core.KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_MEMFAULT_REASON_UNKNOWN: core.KVM_MEMFAULT_REASON_UNKNOWN,
  KVM_MEMFAULT_REASON_ABSENT_MAPPING: core.KVM_MEMFAULT_REASON_ABSENT_MAPPING,
};

/** The names of enableCap's flags. */
export const CAP_ARG_NAMES = Object.keys(CAP_ARG_FLAGS) as [string, ...string[]];
