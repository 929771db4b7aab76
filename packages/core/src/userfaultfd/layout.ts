/**
 * Where userfaultfd's kernel state sits in its SharedArrayBuffer: contexts (struct userfaultfd_ctx)
 * with their wait-queue heads, and waiter records (struct userfaultfd_wait_queue), one per thread.
 * Every block is a whole number of 64-byte cache lines. Table: docs/userfaultfd.md §1.
 */

/** Int32 words of one 64-byte cache line. */
export const LINE = 16;

/** Contexts an address space can have open at once. */
export const UFFD_MAX_CTX = 512;
/** Threads that can fault on, or wait for, a userfaultfd of one address space at once. */
export const UFFD_MAX_WAITERS = 1024;

// Header (one line).
/** One past the highest context ever opened. */
export const HDR_CTX_HWM = 0;

// A wait-queue head (wait_queue_head_t): one line each, lock and list together as in the kernel.
/** The head's spinlock (a SabMutex word). */
export const WQ_LOCK = 0;
/** Newest entry (list head: __add_wait_queue adds here), -1 if empty. */
export const WQ_HEAD = 1;
/** Oldest entry (find_userfault takes list_last_entry: FIFO), -1 if empty. */
export const WQ_TAIL = 2;
/** Entries on the list (waitqueue_active is COUNT != 0). */
export const WQ_COUNT = 3;
/** Most entries the list ever held. */
export const WQ_MAX = 4;
/** Lock acquisitions (written under the lock). */
export const WQ_ACQ = 5;
/** Acquisitions that found the lock taken (written under the lock). */
export const WQ_CONTENDED = 6;
/** Float64 index within the line (words 8-9): ms spent waiting for the lock (written under the lock). */
export const WQ_WAIT_MS_F64 = 4;

// A context: line 0 state, lines 1-3 the three wait-queue heads, line 4 wake statistics, line 5
// counters, lines 6-7 spare.
/** Int32 words per context. */
export const CTX_WORDS = 8 * LINE;
/** 1 while the context is open (claimed by CAS). */
export const C_IN_USE = 0;
/** C_API_DONE | C_RELEASED. */
export const C_STATE = 1;
/** UFFDIO_API was called. */
export const C_API_DONE = 1;
/** The uffd was closed (ctx->released). */
export const C_RELEASED = 2;
/** Features UFFDIO_API enabled. */
export const C_FEATURES = 2;
/** O_NONBLOCK. */
export const C_NONBLOCK = 3;
/** ctx->refile_seq: odd while read() moves an entry from fault_pending_wqh to fault_wqh. */
export const C_REFILE_SEQ = 4;
/**
 * Times the slot was opened. A Userfaultfd and its handles belong to one opening: once it is closed,
 * they stay closed even when a new uffd reuses the slot (as a closed fd never reaches a later file).
 */
export const C_GEN = 5;
/** Counters (Atomics.add), on line 5 so that counting does not bounce the state line every call reads. */
const COUNTERS = 5 * LINE;
/** Threads that entered handle_userfault, messages read, EEXIST answers, pages resolved by each ioctl. */
export const C_FAULTS = COUNTERS + 0;
export const C_MSGS = COUNTERS + 1;
export const C_EEXIST = COUNTERS + 2;
export const C_COPIES = COUNTERS + 3;
export const C_ZEROPAGES = COUNTERS + 4;
export const C_CONTINUES = COUNTERS + 5;
/** wake_userfault calls that found no waiter and took no lock. */
export const C_WAKE_SKIPPED = COUNTERS + 6;
/** Readers woken on fd_wqh. */
export const C_READER_WAKEUPS = COUNTERS + 7;
/** Threads woken by a range walk. */
export const C_WOKEN = COUNTERS + 8;
/** The wait-queue heads, in the kernel's lock order. */
export const C_FD_WQH = 1 * LINE;
export const C_FAULT_PENDING_WQH = 2 * LINE;
export const C_FAULT_WQH = 3 * LINE;
/** Wake statistics (written under fault_pending_wqh.lock). */
export const C_WAKE = 4 * LINE;
/** Range walks (__wake_userfault). */
export const W_WALKS = 0;
/** Most waiters one walk visited. */
export const W_MAX_WALKED = 1;
/** Float64 index within the line (words 4-5): waiters visited by all walks. */
export const W_WALKED_F64 = 2;

// A waiter record (struct userfaultfd_wait_queue, or a poll/read wait entry on fd_wqh): one line.
/** Int32 words per record. */
export const REC_WORDS = LINE;
/** The futex word the thread sleeps on: 0 waiting, R_WOKEN, R_RELEASED. */
export const R_WAKEN = 0;
/** Woken by a wake walk (uwq->waken = true). */
export const R_WOKEN = 1;
/** Woken because the uffd was closed. */
export const R_RELEASED = 2;
/** List links: record indexes, -1 at the ends. */
export const R_NEXT = 1;
export const R_PREV = 2;
/** Which list the record is on: Q_NONE, Q_PENDING, Q_FAULT, Q_FD. */
export const R_QUEUE = 3;
export const Q_NONE = 0;
export const Q_PENDING = 1;
export const Q_FAULT = 2;
export const Q_FD = 3;
/** The context the record is queued on. */
export const R_CTX = 4;
/** uffd_msg: pagefault flags. */
export const R_FLAGS = 5;
/** uffd_msg: thread id. */
export const R_TID = 6;
/** fd_wqh entries: WQ_FLAG_EXCLUSIVE. */
export const R_EXCLUSIVE = 7;
/** 1 while a thread owns the record. */
export const R_IN_USE = 8;
/** Float64 index within the record (words 10-11): uffd_msg: the faulting address. */
export const R_ADDRESS_F64 = 5;

/** Int32 index of context `c`. */
export const ctxBase = (c: number): number => LINE + c * CTX_WORDS;
/** Int32 index of record `r`. */
export const recBase = (r: number): number => LINE + UFFD_MAX_CTX * CTX_WORDS + r * REC_WORDS;
/** Bytes of the buffer. */
export const UFFD_BYTES = (LINE + UFFD_MAX_CTX * CTX_WORDS + UFFD_MAX_WAITERS * REC_WORDS) * 4;
