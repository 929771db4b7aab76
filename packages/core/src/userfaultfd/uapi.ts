/** The userfaultfd uAPI (include/uapi/linux/userfaultfd.h): kernel names and values. */

/** UFFDIO_API.api: the only API version. */
export const UFFD_API = 0xaa;

/** UFFDIO_REGISTER mode: missing pages (VM_UFFD_MISSING). */
export const UFFDIO_REGISTER_MODE_MISSING = 1 << 0;
/** UFFDIO_REGISTER mode: write-protect faults (VM_UFFD_WP); this model refuses it (EINVAL). */
export const UFFDIO_REGISTER_MODE_WP = 1 << 1;
/** UFFDIO_REGISTER mode: minor faults, page cache present but PTE absent (VM_UFFD_MINOR). */
export const UFFDIO_REGISTER_MODE_MINOR = 1 << 2;

/** UFFDIO_COPY mode: do not wake the faulting threads. */
export const UFFDIO_COPY_MODE_DONTWAKE = 1 << 0;
/** UFFDIO_ZEROPAGE mode: do not wake the faulting threads. */
export const UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1 << 0;
/** UFFDIO_CONTINUE mode: do not wake the faulting threads. */
export const UFFDIO_CONTINUE_MODE_DONTWAKE = 1 << 0;

/** uffd_msg.event: a page fault. */
export const UFFD_EVENT_PAGEFAULT = 0x12;
/** uffd_msg.arg.pagefault.flags: the fault was a write. */
export const UFFD_PAGEFAULT_FLAG_WRITE = 1 << 0;
/** uffd_msg.arg.pagefault.flags: a write-protect fault. */
export const UFFD_PAGEFAULT_FLAG_WP = 1 << 1;
/** uffd_msg.arg.pagefault.flags: a minor fault. */
export const UFFD_PAGEFAULT_FLAG_MINOR = 1 << 2;

/** Feature: MISSING mode on shmem (memfd) mappings. */
export const UFFD_FEATURE_MISSING_SHMEM = 1 << 5;
/** Feature: uffd_msg.arg.pagefault.feat.ptid holds the faulting thread's id. */
export const UFFD_FEATURE_THREAD_ID = 1 << 8;
/** Feature: MINOR mode on shmem (memfd) mappings. */
export const UFFD_FEATURE_MINOR_SHMEM = 1 << 10;
/** Feature: report the exact faulting address, not the page. */
export const UFFD_FEATURE_EXACT_ADDRESS = 1 << 11;
/** The features this model implements (what UFFDIO_API answers). */
export const UFFD_API_FEATURES = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_EXACT_ADDRESS;

/** ioctl numbers (_UFFDIO_*): bit positions in the `ioctls` masks UFFDIO_API and UFFDIO_REGISTER return. */
export const _UFFDIO_REGISTER = 0x00;
export const _UFFDIO_UNREGISTER = 0x01;
export const _UFFDIO_WAKE = 0x02;
export const _UFFDIO_COPY = 0x03;
export const _UFFDIO_ZEROPAGE = 0x04;
export const _UFFDIO_CONTINUE = 0x07;
export const _UFFDIO_API = 0x3f;
/**
 * UFFD_API_IOCTLS: what a context accepts after UFFDIO_API. The kernel's mask also has bit 63
 * (_UFFDIO_API), which a JavaScript number cannot hold beside the low bits; it is left out.
 */
export const UFFD_API_IOCTLS = 2 ** _UFFDIO_REGISTER + 2 ** _UFFDIO_UNREGISTER;
/** Range ioctls of an anonymous registration (this model has no WRITEPROTECT, MOVE or POISON). */
export const UFFD_API_RANGE_IOCTLS = 2 ** _UFFDIO_WAKE + 2 ** _UFFDIO_COPY + 2 ** _UFFDIO_ZEROPAGE;
/** Range ioctls of a shmem registration: UFFD_API_RANGE_IOCTLS_BASIC (no ZEROPAGE) plus CONTINUE. */
export const UFFD_API_RANGE_IOCTLS_BASIC = 2 ** _UFFDIO_WAKE + 2 ** _UFFDIO_COPY + 2 ** _UFFDIO_CONTINUE;

/** struct uffd_msg for UFFD_EVENT_PAGEFAULT. */
export interface UffdMsg {
  event: typeof UFFD_EVENT_PAGEFAULT;
  /** UFFD_PAGEFAULT_FLAG_*. */
  flags: number;
  /** The faulting address: the page's, unless UFFD_FEATURE_EXACT_ADDRESS. */
  address: number;
  /** The faulting thread's id (worker threadId) with UFFD_FEATURE_THREAD_ID, else 0. */
  tid: number;
}
