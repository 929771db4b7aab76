/**
 * handle_userfault queues the fault first and then re-checks it (userfaultfd_must_wait): a page
 * resolved, or a range unregistered, between the fault and the sleep must not be waited for, since
 * the wake that resolution sent found nobody queued. The window is opened deterministically here by
 * calling the two halves of a host fault (faultIn, then handleUserfault) with the resolution between.
 */
import test, { type ExecutionContext } from 'ava';
import { UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, type HostMemory, type Userfaultfd } from '@vcpu-rt/core';
import { FAULT_FLAG_WRITE, VM_FAULT_USERFAULT } from '#internal/host/host-memory.js';
import { newUffd, newVm, noBlock, P, patternPage } from './_helpers.js';

interface Window {
  name: string;
  /** The page to fault on, after registering it. */
  setup(h: HostMemory, u: Userfaultfd): number;
  /** What happens between the fault and the sleep. */
  between(h: HostMemory, u: Userfaultfd, page: number): void;
  /** What the access then reads. */
  expect(page: number): Uint8Array;
  /** `between` closes the uffd (no counters left to check). */
  closes?: boolean;
}

const anon = (mode = UFFDIO_REGISTER_MODE_MISSING) => (h: HostMemory, u: Userfaultfd) => {
  const a = h.mmap(P);
  u.register(a, P, mode);
  return a;
};

/** A memfd mapped twice: the first mapping registered with `mode`; `cached` pages written through the second first. */
const memfd = (mode: number, cached: boolean) => (h: HostMemory, u: Userfaultfd) => {
  const fd = h.memfdCreate(P);
  const a = h.mmap(P, { memfd: fd });
  const b = h.mmap(P, { memfd: fd });
  if (cached) h.write(b, patternPage(a));
  u.register(a, P, mode);
  aliases.set(a, b);
  return a;
};
const aliases = new Map<number, number>();

const WINDOWS: Window[] = [
  { name: 'UFFDIO_COPY (its wake found nobody queued)', setup: anon(), between: (_h, u, p) => u.copy(p, patternPage(p)), expect: patternPage },
  { name: 'UFFDIO_COPY with DONTWAKE', setup: anon(), between: (_h, u, p) => u.copy(p, patternPage(p), UFFDIO_COPY_MODE_DONTWAKE), expect: patternPage },
  { name: 'UFFDIO_ZEROPAGE', setup: anon(), between: (_h, u, p) => u.zeropage(p, P), expect: () => new Uint8Array(P) },
  { name: 'UFFDIO_UNREGISTER', setup: anon(), between: (_h, u, p) => u.unregister(p, P), expect: () => new Uint8Array(P) },
  { name: 'close()', setup: anon(), between: (_h, u) => u.close(), expect: () => new Uint8Array(P), closes: true },
  {
    name: 'a write through an unregistered alias, which puts a MISSING memfd page in the page cache',
    setup: memfd(UFFDIO_REGISTER_MODE_MISSING, false), between: (h, _u, p) => h.write(aliases.get(p)!, patternPage(p)), expect: patternPage,
  },
  {
    name: 'UFFDIO_CONTINUE of a MINOR page', setup: memfd(UFFDIO_REGISTER_MODE_MINOR, true), between: (_h, u, p) => u.continue(p, P), expect: patternPage,
  },
  {
    name: 'UFFDIO_CONTINUE with DONTWAKE', setup: memfd(UFFDIO_REGISTER_MODE_MINOR, true),
    between: (_h, u, p) => u.continue(p, P, UFFDIO_COPY_MODE_DONTWAKE), expect: patternPage,
  },
];

function run(t: ExecutionContext, w: Window): void {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const page = w.setup(h, u);
  const idx = h.readLock();
  let frame: number;
  try {
    frame = h.faultIn(page, FAULT_FLAG_WRITE);
  } finally {
    h.readUnlock(idx);
  }
  t.is(frame, VM_FAULT_USERFAULT, 'the fault belongs to the uffd');
  w.between(h, u, page);
  const retry = noBlock(h, () => h.handleUserfault());
  t.true(retry, 'handle_userfault returned without sleeping, for the fault to be retried');
  if (!w.closes) {
    const s = u.stats();
    t.is(s.faults, 1, 'the fault was queued before the re-check');
    t.deepEqual([s.queues.pending, s.queues.fault, s.queues.readers], [0, 0, 0], 'and taken off the queue again');
    t.is(s.readerWakeups + s.locks.fdWqh.acquisitions, 0, 'no reader was woken for it');
  }
  t.deepEqual(noBlock(h, () => h.read(page, P)), w.expect(page), 'the retried access succeeds');
}

for (const w of WINDOWS) test(`a fault re-checks after queueing: resolved in between by ${w.name}, it does not sleep`, (t) => run(t, w));
