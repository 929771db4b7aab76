/**
 * `vcpu-rt bench vcpu`: the guest-access hit path. One vCPU, then two on disjoint memory, read a
 * TLB-resident region in memstress rounds; the VMM times each round between sync exits.
 */
import { Kvm, KVM_EXIT_IO } from '@vcpu-rt/core';
import { createVcpu, type Vcpu } from '@vcpu-rt/vcpu';
import { summarize } from './stats.js';

/** One row: accesses per second over `vcpus` vCPUs together. */
export interface VcpuBenchResult {
  test: 'hit-path';
  vcpus: number;
  /** Reads (read32) or writes (write64). */
  access: 'read' | 'write';
  /** Median over repeats of the aggregate rate. */
  accessesPerSecond: number;
  min: number;
  max: number;
  repeats: number;
  accessesPerRound: number;
}

const REGION_PAGES = 256; // 1 MiB per vCPU: well inside a 1024-entry TLB
const STRIDE = 64; // 64 accesses per page
const PASSES = 200; // passes per round: ~3.3 M accesses, so exits are rare next to accesses

async function toSync(v: Vcpu): Promise<void> {
  const e = await v.run();
  if (e.reason !== KVM_EXIT_IO) throw new Error(`memstress: unexpected exit ${e.reason}`);
}

/** `repeats` timed rounds, after one warm-up round, on `n` vCPUs running at once. */
export async function hitPath(n: number, access: 'read' | 'write', repeats: number): Promise<VcpuBenchResult> {
  const vm = new Kvm().createVm({ hostMemoryBytes: 64 << 20 });
  const vcpus: Vcpu[] = [];
  const bytes = REGION_PAGES * 4096;
  const perRound = PASSES * (bytes / STRIDE);
  try {
    const hva = vm.host.mmap(n * bytes, { populate: true });
    vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: 1 << 30, memorySize: n * bytes, userspaceAddr: hva });
    for (let i = 0; i < n; i++) {
      vcpus.push(await createVcpu(vm, i, {
        guest: 'memstress',
        args: { gpa: (1 << 30) + i * bytes, pages: REGION_PAGES, stride: STRIDE, passes: PASSES, rounds: repeats + 2, write: access === 'write' },
      }));
    }
    await Promise.all(vcpus.map(toSync)); // warm-up round
    const rates: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await Promise.all(vcpus.map(toSync));
      rates.push((n * perRound) / ((performance.now() - t0) / 1000));
    }
    const s = summarize(rates);
    return { test: 'hit-path', vcpus: n, access, accessesPerSecond: s.median, min: s.min, max: s.max, repeats: s.repeats, accessesPerRound: perRound };
  } finally {
    for (const v of vcpus) await v.destroy();
    await vm.close();
  }
}

/** One vCPU, then two on disjoint memory, for reads and writes; `progress` hears each of the four runs. */
export async function benchVcpu(repeats: number, progress?: (line: string, done: number, total: number) => void): Promise<VcpuBenchResult[]> {
  const out: VcpuBenchResult[] = [];
  for (const access of ['read', 'write'] as const) {
    for (const n of [1, 2]) {
      const r = await hitPath(n, access, repeats);
      out.push(r);
      progress?.(`${access}, ${n} vCPU${n > 1 ? 's' : ''}: ${(r.accessesPerSecond / 1e6).toFixed(1)} M accesses/s`, out.length, 4);
    }
  }
  return out;
}
