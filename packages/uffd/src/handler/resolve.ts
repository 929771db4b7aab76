/**
 * Resolving one missing page, as both paths do it: fetch it from the source, then UFFDIO_COPY it
 * (MISSING) or UFFDIO_CONTINUE the page cache's copy (MINOR). Allocation-free unless the page was
 * already there.
 */
import { KvmError, UFFDIO_COPY_MODE_DONTWAKE, type Userfaultfd } from '@vcpu-rt/core';
import type { PageServer } from '../source/page-server.js';

/** Fetches and places page `p` at `hva`; false when it was already present (EEXIST: nobody was woken). */
export function resolvePage(uffd: Userfaultfd, server: PageServer, mode: 'missing' | 'minor', p: number, hva: number, wake: boolean): boolean {
  const off = server.fetch(p);
  try {
    if (mode === 'missing') uffd.copy(hva, server.bytes, wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE, off, 4096);
    else uffd.continue(hva, 4096, wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE);
    return true;
  } catch (e) {
    if (e instanceof KvmError && e.code === 'EEXIST') return false;
    throw e;
  }
}
