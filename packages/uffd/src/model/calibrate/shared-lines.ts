/** mmLines: the 64-byte lines of shared memory every exit-path resolution writes, found by comparing snapshots. */
import { attachVm, KVM_EXIT_MEMORY_FAULT, RET_PF_FIXED, RET_PF_MEMORY_FAULT, VcpuMmu, type VmView } from '@vcpu-rt/core';
import { KvmRun, type KvmExit } from '@vcpu-rt/vcpu';
import { postcopyExitHandler } from '../../handler/exit-handler.js';
import { RUN_COUNTER_WORDS, type PostcopyLayout } from '../../layout.js';
import { PAGE_SERVER_STAT_WORDS } from '../../source/page-server.js';
import type { BenchVm } from './bench-vm.js';
import { GPA, PAGE } from './config.js';

// --- 3. the mm-wide lines a resolution writes ------------------------------------------------------

/** Every SharedArrayBuffer reachable from `root`, named by its path. */
function collectSabs(root: unknown, name: string, out: Map<SharedArrayBuffer, string>): void {
  if (root instanceof SharedArrayBuffer) {
    if (!out.has(root)) out.set(root, name);
    return;
  }
  if (ArrayBuffer.isView(root)) {
    if (root.buffer instanceof SharedArrayBuffer) collectSabs(root.buffer, name, out);
    return;
  }
  if (root !== null && typeof root === 'object') for (const [k, v] of Object.entries(root)) collectSabs(v, `${name}.${k}`, out);
}

/** The 64-byte lines of `sabs` that differ from `before` (copies taken with snapshotSabs). */
function changedLines(sabs: readonly [SharedArrayBuffer, string][], before: readonly Buffer[]): Set<string> {
  const out = new Set<string>();
  const CHUNK = 1 << 16;
  sabs.forEach(([sab, name], i) => {
    const old = before[i];
    for (let o = 0; o < sab.byteLength; o += CHUNK) {
      const len = Math.min(CHUNK, sab.byteLength - o);
      const cur = Buffer.from(sab, o, len);
      if (cur.equals(old.subarray(o, o + len))) continue;
      for (let l = 0; l < len; l += 64) {
        const n = Math.min(64, len - l);
        if (!cur.subarray(l, l + n).equals(old.subarray(o + l, o + l + n))) out.add(`${name} line ${(o + l) / 64}`);
      }
    }
  });
  return out;
}

const snapshotSabs = (sabs: readonly [SharedArrayBuffer, string][]): Buffer[] => sabs.map(([sab]) => Buffer.from(new Uint8Array(sab)));

/**
 * mmLines: the 64-byte lines of shared memory that every exit-path resolution writes whichever vCPU
 * and page it is. Two vCPUs (each its own attachVm view, VcpuMmu and postcopyExitHandler, the real
 * one) each resolve one page through the whole exit path (fault, exit decision, handler: claim,
 * fetch, CONTINUE + DONTWAKE, counters; refault and spte install), pages in different page-table
 * leaves; each resolution's written lines are found by comparing every buffer of the VM and the run
 * before and after it. Lines both wrote are the mm-wide ones (per-thread and per-page lines differ).
 */
export function sharedLines(b: BenchVm, say: (s: string) => void): string[] {
  const { vm, uffd, hva, pages } = b;
  const layout: PostcopyLayout = {
    vm: vm.handle(), gpa: GPA, hva, pages, pagesPerUffd: pages, mode: 'minor', uffds: [uffd.handle()],
    // MINOR: the handler never reads the snapshot (CONTINUE maps the page cache's page).
    server: { snapshot: new SharedArrayBuffer(PAGE), stats: new SharedArrayBuffer(PAGE_SERVER_STAT_WORDS * 4), fetchLatencyUs: 0 },
    claims: new SharedArrayBuffer(pages * 4), counters: new SharedArrayBuffer(RUN_COUNTER_WORDS * 4),
  };
  const views: VmView[] = [];
  const releases: (() => void)[] = [];
  try {
    const vcpus = [1, 2].map((id) => {
      const view = attachVm(vm.handle());
      views.push(view);
      const requests = view.shared.vcpus.claim(id);
      releases.push(() => requests.release());
      const mmu = new VcpuMmu(view.shared, requests);
      const handler = postcopyExitHandler(layout, { vcpuId: id, vm: view, run: new KvmRun() }) as (e: KvmExit) => boolean;
      return { mmu, handler };
    });
    const resolve = (v: (typeof vcpus)[number], p: number): void => {
      const gpa = GPA + p * PAGE;
      v.mmu.walk(gpa / PAGE, false);
      if (v.mmu.pageFault(gpa, false) !== RET_PF_MEMORY_FAULT) throw new Error('calibrate: expected a memory-fault exit');
      const mf = v.mmu.memoryFault;
      if (!v.handler({ reason: KVM_EXIT_MEMORY_FAULT, memoryFault: { flags: mf.flags, gpa: mf.gpa, size: mf.size } })) throw new Error('calibrate: the exit handler declined the exit');
      if (v.mmu.pageFault(gpa, false) !== RET_PF_FIXED) throw new Error('calibrate: the refault did not install the spte');
      v.mmu.walk(gpa / PAGE, false);
    };
    const half = Math.floor(pages / 2);
    // First touches allocate page-table leaves (once per 2 MiB): done before the comparison.
    resolve(vcpus[0], 0);
    resolve(vcpus[1], half);
    const map = new Map<SharedArrayBuffer, string>();
    collectSabs(vm.handle(), 'vm', map);
    collectSabs({ claims: layout.claims, counters: layout.counters, pageServer: layout.server.stats }, 'run', map);
    const sabs = [...map.entries()];
    let before = snapshotSabs(sabs);
    resolve(vcpus[0], 1);
    const first = changedLines(sabs, before);
    before = snapshotSabs(sabs);
    resolve(vcpus[1], half + 1);
    const second = changedLines(sabs, before);
    const shared = [...first].filter((l) => second.has(l)).sort();
    say(`lines written by one exit-path resolution: ${first.size} and ${second.size}; by both (mm-wide): ${shared.length} (${shared.join(', ')})`);
    return shared;
  } finally {
    for (const r of releases) r();
    for (const v of views) v.detach();
    // Every page absent again for the other benchmarks.
    vm.host.madvise(hva, pages * PAGE, 'dontneed');
  }
}
