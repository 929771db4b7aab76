/**
 * The userspace fault handler of the uffd path (demand_paging_test's handle_uffd_page_request):
 * for each message, fetch the page and COPY / CONTINUE it, which wakes the faulter. EEXIST means
 * someone else placed the page — not that the faulter was woken (ejc3/fcvm#817) — so the handler
 * then wakes the range itself.
 */
import type { UffdMsg, Userfaultfd } from '@vcpu-rt/core';
import { RUN_READER_EEXIST, RUN_READER_RESOLVED, RUN_READER_WAKES, type PostcopyLayout } from '../layout.js';
import type { PageServer } from '../source/page-server.js';
import { resolvePage } from './resolve.js';

/** Serves one fault message on `uffd`. */
export function serveFault(msg: UffdMsg, uffd: Userfaultfd, server: PageServer, layout: PostcopyLayout, counters: Int32Array): void {
  const page = msg.address - (msg.address % 4096);
  const p = (page - layout.hva) / 4096;
  if (resolvePage(uffd, server, layout.mode, p, layout.hva, true)) {
    Atomics.add(counters, RUN_READER_RESOLVED, 1);
    return;
  }
  Atomics.add(counters, RUN_READER_EEXIST, 1);
  uffd.wake(page, 4096);
  Atomics.add(counters, RUN_READER_WAKES, 1);
}
