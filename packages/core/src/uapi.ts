/**
 * The KVM uAPI as the model speaks it: kernel names and values.
 * Flags and capabilities of never-merged proposals take the values listed in docs/uapi-choices.md.
 */

/** Size of a host and guest page (x86 4 KiB). */
export const PAGE_SIZE = 4096;
/** log2(PAGE_SIZE). */
export const PAGE_SHIFT = 12;

/** kvm_userspace_memory_region.flags: track guest writes in a dirty bitmap. */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
/** kvm_userspace_memory_region.flags: guest writes exit as KVM_EXIT_MMIO. */
export const KVM_MEM_READONLY = 1 << 1;
/** Seeds 000/003: no backing memory; reads return 0xff, writes exit as MMIO. */
export const KVM_MEM_PCI_HOLE = 1 << 2;
/** Seed 002 (moved to bit 3, where KVM_MEM_EXIT_ON_MISSING later sat): absent host pages exit as memory faults. */
export const KVM_MEM_ABSENT_MAPPING_FAULT = 1 << 3;
/** Internal slot flag (bits 16-31 are the kernel's): the slot is being deleted or moved. */
export const KVM_MEMSLOT_INVALID = 1 << 16;

/** x86 KVM_MEM_SLOTS_NUM: SHRT_MAX. */
export const KVM_MEM_SLOTS_NUM = 32767;
/** x86 KVM_INTERNAL_MEM_SLOTS. */
export const KVM_INTERNAL_MEM_SLOTS = 3;
/** Slots userspace may use: KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS. */
export const KVM_USER_MEM_SLOTS = KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS;
/** Largest slot, in pages: (1UL << 31) - 1. */
export const KVM_MEM_MAX_NR_PAGES = 2 ** 31 - 1;
/** Highest user address + 1 that access_ok() accepts for userspaceAddr + memorySize (x86-64, 4-level paging). */
export const TASK_SIZE_MAX = 2 ** 47 - PAGE_SIZE;
/** Address spaces on x86 with SMM (KVM_ADDRESS_SPACE_NUM). */
export const KVM_ADDRESS_SPACE_NUM = 2;
/** Bit 63 of kvm_memslots.generation: a memslot update is in progress. */
export const KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS = 1n << 63n;

/** Capability: userspace memory regions exist. */
export const KVM_CAP_USER_MEMORY = 3;
/** Capability: host mm changes are reflected in the guest (MMU notifiers). */
export const KVM_CAP_SYNC_MMU = 16;
/** Capability: number of user memslots. */
export const KVM_CAP_NR_MEMSLOTS = 10;
/** Capability: KVM_MEM_READONLY. */
export const KVM_CAP_READONLY_MEM = 81;
/** Capability: address spaces per VM (x86 SMM). */
export const KVM_CAP_MULTI_ADDRESS_SPACE = 118;
/** Capability: KVM_CLEAR_DIRTY_LOG and manual dirty-log protection. */
export const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168;
/** Capability: KVM_MEM_PCI_HOLE (seed 003). */
export const KVM_CAP_PCI_HOLE_MEM = 187;
/** Capability: per-reason KVM_EXIT_MEMORY_FAULT enable (seed 002 series). */
export const KVM_CAP_X86_MEMORY_FAULT_EXIT = 227;
/** Capability: KVM_MEM_ABSENT_MAPPING_FAULT (seed 002); informational, enableCap is EINVAL. */
export const KVM_CAP_MEMORY_FAULT_NOWAIT = 228;
/** Capability: kvm_run.memory_fault is filled on EFAULT (6.8); informational. */
export const KVM_CAP_MEMORY_FAULT_INFO = 232;

/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 arg: KVM_GET_DIRTY_LOG no longer clears; KVM_CLEAR_DIRTY_LOG does. */
export const KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1 << 0;
/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 arg: new dirty bitmaps start all ones. */
export const KVM_DIRTY_LOG_INITIALLY_SET = 1 << 1;
/** Every option KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 accepts (KVM_DIRTY_LOG_MANUAL_CAPS). */
export const KVM_DIRTY_LOG_MANUAL_CAPS = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;

/** Memory-fault exit reason: unclassified. */
export const KVM_MEMFAULT_REASON_UNKNOWN = 1 << 0;
/** Memory-fault exit reason: the host mapping is absent (KVM_MEM_ABSENT_MAPPING_FAULT). */
export const KVM_MEMFAULT_REASON_ABSENT_MAPPING = 1 << 1;
/** Every reason KVM_CAP_X86_MEMORY_FAULT_EXIT accepts. */
export const KVM_MEMFAULT_VALID_REASONS = KVM_MEMFAULT_REASON_UNKNOWN | KVM_MEMFAULT_REASON_ABSENT_MAPPING;

/** Exit: port I/O (the guest's ucalls). */
export const KVM_EXIT_IO = 2;
/** Exit: the guest halted. */
export const KVM_EXIT_HLT = 5;
/** Exit: an access userspace must emulate. */
export const KVM_EXIT_MMIO = 6;
/** Exit: triple fault or equivalent. */
export const KVM_EXIT_SHUTDOWN = 8;
/** Exit: KVM could not handle the exit. */
export const KVM_EXIT_INTERNAL_ERROR = 17;
/** Exit: a guest memory access KVM could not resolve (kvm_run.memory_fault). */
export const KVM_EXIT_MEMORY_FAULT = 39;
