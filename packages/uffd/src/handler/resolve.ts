/**
 * Resolving one missing page, as both paths do it: fetch it from the source, then UFFDIO_COPY it
 * (MISSING) or UFFDIO_CONTINUE the page cache's copy (MINOR). Allocation-free unless the page was
 * already there.
 */
import { KvmError, UFFDIO_COPY_MODE_DONTWAKE, type Userfaultfd } from '@vcpu-rt/core';
import type { PageServer } from '../source/page-server.js';

/**
 * Fetches page `p` and places it at `base + p * 4096` (`base`: the hva of the image's page 0); false
 * when it was already present (EEXIST: nobody was woken). The hva is computed here, next to the
 * ioctl, rather than by the caller: a fresh 47-bit number passed to a call is boxed on the heap.
 */
export function resolvePage(uffd: Userfaultfd, server: PageServer, mode: 'missing' | 'minor', p: number, base: number, wake: boolean): boolean {
  const off = server.fetch(p);
  try {
    if (mode === 'missing') uffd.copy(base + p * 4096, server.bytes, wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE, off, 4096);
    else uffd.continue(base + p * 4096, 4096, wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE);
    return true;
  } catch (e) {
    if (e instanceof KvmError && e.code === 'EEXIST') return false;
    throw e;
  }
}
