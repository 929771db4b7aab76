/**
 * The bounds and defaults of the bench and model flags, in one place: the command line
 * (packages/cli/src/main.ts) parses with them and a scenario step accepts exactly the same. The
 * engine's own limits come from the engine packages.
 */
import { KVM_USER_MEM_SLOTS } from '@vcpu-rt/core';
import { DEMAND_PAGING_DEFAULTS, MAX_GUEST_BYTES, MAX_READER_THREADS, MAX_REAL_VCPUS } from '@vcpu-rt/uffd';
import { HANDOFF_POLL_NS_DEFAULT } from '@vcpu-rt/vcpu';
import { DEFAULT_SLOTS } from '../../bench/memslots.js';

/** An inclusive integer range with its default. */
export interface IntBound {
  min: number;
  max: number;
  default: number;
}

/** `bench memslots`: --slots, --repeat, --move-seconds. */
export const MEMSLOTS_BOUNDS = {
  slots: { min: 1, max: KVM_USER_MEM_SLOTS - 1, default: DEFAULT_SLOTS },
  repeat: { min: 1, max: 100, default: 3 },
  /** Seconds, in (0, max]. */
  moveSeconds: { max: 60, default: 0.3 },
} as const;

/** `bench pci-hole`: --repeat, --stray-writes, --run-poll-ns. */
export const PCI_HOLE_BOUNDS = {
  repeat: { min: 1, max: 1000, default: 7 },
  strayWrites: { min: 0, max: 100_000, default: 0 },
  runPollNs: { min: 0, max: 2 ** 31 - 1, default: HANDOFF_POLL_NS_DEFAULT },
} as const;

/** `bench vcpu`: --repeat. */
export const VCPU_BOUNDS = {
  repeat: { min: 1, max: 1000, default: 9 },
} as const;

/** demand_paging_test's flags, shared by `bench demand-paging` and `model demand-paging`. */
export const PAGING_BOUNDS = {
  /** --vcpus of the real-thread bench. */
  vcpus: { min: 1, max: MAX_REAL_VCPUS, default: [1, 2, 4, 8] },
  bytesPerVcpu: { min: 4096, max: MAX_GUEST_BYTES, default: DEMAND_PAGING_DEFAULTS.bytesPerVcpu },
  readers: { min: 1, max: MAX_READER_THREADS },
  delayUs: { min: 0, max: 1_000_000, default: 0 },
  fetchLatencyUs: { min: 0, max: 1_000_000, default: 0 },
  warmupPages: { min: 0, max: 65536, default: DEMAND_PAGING_DEFAULTS.warmupPages },
  repeat: { min: 1, max: 100, default: 3 },
} as const;

/** `model demand-paging`: its --vcpus, --cpus, --sim-pages. */
export const MODEL_BOUNDS = {
  vcpus: { min: 1, max: 512, default: [1, 2, 4, 8, 16, 32, 64, 128, 256] },
  cpus: { min: 1, max: 4096, default: 256 },
  simPages: { min: 16, max: 65536, default: 2048 },
} as const;
