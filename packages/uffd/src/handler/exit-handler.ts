/**
 * The memory-fault-exit path (-w), as Anish Moorthy's demand_paging_test patch does it, in the
 * vCPU's own thread: on KVM_EXIT_MEMORY_FAULT, claim the page in a shared bitmap (CAS), fetch it,
 * COPY / CONTINUE it with DONTWAKE (nobody waits on the uffd, so its wait queues are never
 * touched), fall back to MADV_POPULATE_WRITE on EEXIST, and re-enter. A vCPU that loses the claim
 * waits for that page only. Allocation-free per fault.
 */
import { attachUserfaultfd, KVM_EXIT_MEMORY_FAULT } from '@vcpu-rt/core';
import type { ExitHandler, VmmEnv } from '@vcpu-rt/vcpu';
import { PAGE_ABSENT, PAGE_FETCHING, PAGE_PRESENT, PAGE_WAITED, RUN_EXIT_EEXIST, RUN_EXIT_RESOLVED, type PostcopyLayout } from '../layout.js';
import { PageServer } from '../source/page-server.js';
import { resolvePage } from './resolve.js';

/** Exit-handler factory (VmmHandlerSpec 'module:<this file>#postcopyExitHandler', args = the run's layout). */
export function postcopyExitHandler(args: unknown, env: VmmEnv): ExitHandler {
  const layout = args as PostcopyLayout;
  const host = env.vm.host;
  const uffds = layout.uffds.map((h) => attachUserfaultfd(h, host));
  const server = new PageServer(layout.server, env.vcpuId);
  const claims = new Int32Array(layout.claims);
  const counters = new Int32Array(layout.counters);
  const { gpa: base, hva, pages, pagesPerUffd, mode } = layout;
  return (exit) => {
    if (exit.reason !== KVM_EXIT_MEMORY_FAULT) return false;
    const p = Math.floor((exit.memoryFault.gpa - base) / 4096);
    if (p < 0 || p >= pages) return false;
    if (Atomics.compareExchange(claims, p, PAGE_ABSENT, PAGE_FETCHING) === PAGE_ABSENT) {
      // uffd i covers pages [i * pagesPerUffd, (i + 1) * pagesPerUffd); the last one the warm-up regions too.
      if (resolvePage(uffds[Math.min(uffds.length - 1, Math.floor(p / pagesPerUffd))], server, mode, p, hva, false)) {
        Atomics.add(counters, RUN_EXIT_RESOLVED, 1);
      } else {
        Atomics.add(counters, RUN_EXIT_EEXIST, 1);
        host.madvise(hva + p * 4096, 4096, 'populate_write');
      }
      // Atomics.notify takes V8's process-wide futex lock: only when a loser sleeps on the page.
      if (Atomics.exchange(claims, p, PAGE_PRESENT) === PAGE_WAITED) Atomics.notify(claims, p);
    } else {
      Atomics.compareExchange(claims, p, PAGE_FETCHING, PAGE_WAITED);
      while (Atomics.load(claims, p) !== PAGE_PRESENT) Atomics.wait(claims, p, PAGE_WAITED, 10);
    }
    return true;
  };
}
