/** Plain KVM faults in real vCPU threads (memstress): the cross-check of this thread's figures and the CPU contention. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { Kvm, KVM_EXIT_IO } from '@vcpu-rt/core';
import { createVcpu, type Vcpu } from '@vcpu-rt/vcpu';
import { GPA, PAGE, type Config } from './config.js';
import { median, now } from './stats.js';

// --- 5. a plain fault in a real vCPU thread (cross-check of this thread's figures) ----------------

/**
 * The built-in memstress guest in a real vCPU thread over anonymous memory in an ordinary slot:
 * rounds after a dontneed fault every page (plain KVM fault: allocate, zero, PTE, spte), rounds
 * without re-read present pages (TLB miss and TDP walk hit: the region is 4× the TLB). Per page,
 * timed by the VMM between sync exits.
 */
export async function memstressPlainFault(cfg: Config): Promise<{ fault: number; present: number }> {
  const pages = 4096;
  const bytes = pages * PAGE;
  const vm = new Kvm().createVm({ hostMemoryBytes: bytes + (16 << 20) });
  let vcpu: Vcpu | undefined;
  try {
    const hva = vm.host.mmap(bytes);
    vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: GPA, memorySize: bytes, userspaceAddr: hva });
    const pairs = cfg.quick ? 3 : 7;
    const rounds = 4 + 2 * pairs;
    vcpu = await createVcpu(vm, 0, { guest: 'memstress', args: { gpa: GPA, pages, rounds, write: false } });
    const fault: number[] = [];
    const present: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r > 0 && r % 2 === 0) vm.host.madvise(hva, bytes, 'dontneed');
      const t0 = now();
      const e = await vcpu.run();
      const us = ((now() - t0) * 1000) / pages;
      if (e.reason !== KVM_EXIT_IO) throw new Error(`calibrate: memstress exited with reason ${e.reason}`);
      if (r >= 4) (r % 2 === 0 ? fault : present).push(us);
    }
    return { fault: median(fault), present: median(present) };
  } finally {
    await vcpu?.destroy();
    await vm.close();
  }
}

/** This process's threads (their tids). */
const threads = (): Set<string> => new Set(readdirSync('/proc/self/task'));

/**
 * CPU contention: the plain-fault memstress pass of `memstressPlainFault`, on two vCPUs at once (each
 * its own region, this machine's two CPUs busy) against one alone, interleaved. The slow-down of the
 * same work with two CPUs busy, minus 1, is cpuContention (log2(2) = 1). Each vCPU's thread is
 * pinned to a CPU of its own (taskset): the scheduler keeps threads where they start, and two vCPU
 * threads started on one CPU would take turns there, which is not contention.
 */
export async function memstressContention(cfg: Config): Promise<{ one: number; two: number }> {
  const pages = 4096;
  const bytes = pages * PAGE;
  const vm = new Kvm().createVm({ hostMemoryBytes: 2 * bytes + (16 << 20) });
  const vcpus: Vcpu[] = [];
  try {
    const hva = vm.host.mmap(2 * bytes);
    vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: GPA, memorySize: 2 * bytes, userspaceAddr: hva });
    const pairs = cfg.quick ? 3 : 7;
    const rounds = 4 + 4 * pairs;
    for (let i = 0; i < 2; i++) {
      const before = threads();
      vcpus.push(await createVcpu(vm, i, { guest: 'memstress', args: { gpa: GPA + i * bytes, pages, rounds, write: false } }));
      const cpu = i % os.availableParallelism();
      for (const tid of threads()) if (!before.has(tid)) execFileSync('taskset', ['-pc', String(cpu), tid], { stdio: 'ignore' });
    }
    const one: number[] = [];
    const two: number[] = [];
    for (let r = 0; r < rounds; r += 2) {
      // Odd pairs: vCPU 1 alone (vCPU 0 runs its round after); even pairs: both at once. Each round faults its region afresh.
      vm.host.madvise(hva, 2 * bytes, 'dontneed');
      const alone = (r / 2) % 2 === 1;
      const t0 = now();
      if (alone) {
        await vcpus[1].run();
        const us = ((now() - t0) * 1000) / pages;
        await vcpus[0].run();
        if (r >= 4) one.push(us);
      } else {
        await Promise.all(vcpus.map((v) => v.run()));
        if (r >= 4) two.push(((now() - t0) * 1000) / pages);
      }
      // The second round of each pair finds its pages present: run it to keep the guests in step.
      await Promise.all(vcpus.map((v) => v.run()));
    }
    return { one: median(one), two: median(two) };
  } finally {
    for (const v of vcpus) await v.destroy();
    await vm.close();
  }
}
