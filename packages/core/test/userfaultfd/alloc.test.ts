/**
 * The exit path allocates nothing per fault: kvm_tdp_page_fault up to the memory-fault exit, the
 * UFFDIO_CONTINUE + DONTWAKE that resolves it, and the refault that installs the spte, each run over
 * thousands of pages in this thread, with what they allocate counted from V8's new space (its growth
 * plus what scavenges took out of it). A host address (above 2^31) passed to a call that is not
 * inlined is boxed in a 16-byte HeapNumber; host page numbers stay small integers (MMAP_BASE).
 */
import test from 'ava';
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';
import {
  KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEMFAULT_REASON_ABSENT_MAPPING, RET_PF_FIXED, RET_PF_MEMORY_FAULT,
  UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, VcpuMmu,
} from '@vcpu-rt/core';
import { newVm } from './_helpers.js';

const PAGE = 4096;
const GPA = 1 << 30;
const PAGES = 4096;

interface GcStats { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] }
const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
const used = (x: GcStats): number => x.heapSpaceStatistics.find((s) => s.spaceName === 'new_space')?.spaceUsedSize ?? 0;

/** Bytes allocated in new space while `fn` runs, the profiler's own included. */
function allocated(fn: () => void): number {
  const profiler = new GCProfiler();
  profiler.start();
  const u0 = newSpace();
  fn();
  const u1 = newSpace();
  const gcs = (profiler.stop()?.statistics ?? []) as unknown as { beforeGC: GcStats; afterGC: GcStats }[];
  return u1 - u0 + gcs.reduce((s, g) => s + used(g.beforeGC) - used(g.afterGC), 0);
}

/** Bytes `fn` allocated per page, less what measuring an empty function allocates. */
function allocatedPerPage(fn: () => void): number {
  const overhead = allocated(() => {});
  return (allocated(fn) - overhead) / PAGES;
}

/**
 * Repeats `round` (which returns [label, bytes per page] figures) until two rounds in a row are all
 * under 1 byte per page — the JIT needs a few rounds — or gives up after 60 and returns the last.
 */
function settle(round: () => [string, number][]): { figures: [string, number][]; rounds: number } {
  let clean = 0;
  let figures: [string, number][] = [];
  for (let r = 1; r <= 60; r++) {
    figures = round();
    clean = figures.every(([, b]) => b < 1) ? clean + 1 : 0;
    if (clean === 2) return { figures, rounds: r };
  }
  return { figures, rounds: 60 };
}

for (const mode of ['minor', 'missing'] as const) {
  test(`the memory-fault exit, its UFFDIO_${mode === 'minor' ? 'CONTINUE' : 'COPY'} + DONTWAKE and the refault allocate nothing per page (${mode.toUpperCase()})`, (t) => {
    const bytes = PAGES * PAGE;
    const vm = newVm(t, 3 * bytes + (16 << 20));
    const host = vm.host;
    let hva: number;
    if (mode === 'minor') {
      const fd = host.memfdCreate(bytes);
      hva = host.mmap(bytes, { memfd: fd });
      host.madvise(host.mmap(bytes, { memfd: fd }), bytes, 'populate_write');
    } else {
      hva = host.mmap(bytes);
    }
    t.true(hva > 2 ** 31, 'host addresses are above 2^31, as on Linux: the test would not see boxing otherwise');
    vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
    vm.setUserMemoryRegion({ slot: 1, flags: KVM_MEM_ABSENT_MAPPING_FAULT, guestPhysAddr: GPA, memorySize: bytes, userspaceAddr: hva });
    const uffd = host.userfaultfd({ nonBlocking: true });
    uffd.api(0);
    uffd.register(hva, bytes, mode === 'minor' ? UFFDIO_REGISTER_MODE_MINOR : UFFDIO_REGISTER_MODE_MISSING);
    const requests = vm.shared.vcpus.claim(0);
    t.teardown(() => requests.release());
    const mmu = new VcpuMmu(vm.shared, requests);
    const src = new Uint8Array(new SharedArrayBuffer(PAGE));
    let wrong = 0;
    const { figures, rounds } = settle(() => {
      const exit = allocatedPerPage(() => {
        for (let p = 0; p < PAGES; p++) if (mmu.pageFault(GPA + p * PAGE, false) !== RET_PF_MEMORY_FAULT) wrong++;
      });
      const resolve = allocatedPerPage(() => {
        if (mode === 'minor') for (let p = 0; p < PAGES; p++) uffd.continue(hva + p * PAGE, PAGE, UFFDIO_COPY_MODE_DONTWAKE);
        else for (let p = 0; p < PAGES; p++) uffd.copy(hva + p * PAGE, src, UFFDIO_COPY_MODE_DONTWAKE, 0, PAGE);
      });
      const refault = allocatedPerPage(() => {
        for (let p = 0; p < PAGES; p++) if (mmu.pageFault(GPA + p * PAGE, false) !== RET_PF_FIXED) wrong++;
      });
      // Outside guest mode, so that the MMU notifier's TLB-flush request does not wait for this thread.
      requests.exitGuest();
      host.madvise(hva, bytes, 'dontneed');
      mmu.checkRequests();
      return [['fault to the exit', exit], ['resolution', resolve], ['refault', refault]];
    });
    t.is(wrong, 0, 'every fault exited, every refault installed its spte');
    t.log(`after ${rounds} rounds of ${PAGES} pages: ${figures.map(([k, b]) => `${k} ${b.toFixed(2)} B/page`).join(', ')}`);
    for (const [k, b] of figures) t.true(b < 1, `${k}: ${b.toFixed(2)} bytes allocated per page`);
  });
}
