/**
 * demandPaging: demand_paging_test in real threads. A fresh VM whose guest memory is missing
 * (MISSING: anonymous, empty; MINOR: a memfd whose page cache the source filled through an alias
 * mapping), one slot over it, userfaultfds over it, reader threads serving them, vCPU threads
 * running the memstress access pattern, and — with `exits` — the memory-fault-exit path resolving
 * faults in the vCPU threads instead. Every page is checked against the source afterwards.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_EXIT_IO, KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEMFAULT_REASON_ABSENT_MAPPING, Kvm, sumUffdStats,
  UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, type UffdStats, type Userfaultfd,
} from '@vcpu-rt/core';
import { createVcpu, type KvmExit, type Vcpu } from '@vcpu-rt/vcpu';
import {
  GUEST_END, GUEST_FAULT_BYTES, GUEST_GCS, GUEST_MEASURED, GUEST_PRESENT_BYTES, GUEST_START, GUEST_WRONG_WORDS, type DemandPagingGuestArgs,
  SYNC_BYTES_PER_PAGE, SYNC_ROUND, WARMUP_AGAIN,
} from './guest/demand-paging-guest.js';
import type { ReaderData } from './handler/reader-worker.js';
import {
  PAGE_ABSENT, RUN_COUNTER_WORDS, RUN_EXIT_EEXIST, RUN_EXIT_RESOLVED, RUN_READER_EEXIST, RUN_READER_RESOLVED, RUN_READER_WAKES, RUN_STOP, type PostcopyLayout,
} from './layout.js';
import { blocktime, latency } from './metrics.js';
import { demandPagingOptions, type DemandPagingOptions } from './options.js';
import { MigrationSource } from './source/migration-source.js';
import { pageServerStats } from './source/page-server.js';

/**
 * Where guest memory starts: 1 GiB, so that the gpas of up to 1 GiB of guest memory are small
 * integers (V8 Smis) and cross calls on the fault path without being boxed.
 */
export const GUEST_BASE_GPA = 2 ** 30;

/** What a demand-paging run reports, real or modelled (docs/api.md). */
export interface DemandPagingResult {
  options: DemandPagingOptions;
  /** Pages every vCPU faulted, all vCPUs together. */
  pages: number;
  seconds: number;
  /** Pages per second per vCPU and overall, as demand_paging_test prints them (overall = per vCPU × vCPUs). */
  perVcpuRate: number;
  overallRate: number;
  /** QEMU's postcopy-blocktime: time all vCPUs were blocked at once, and per vCPU. */
  blocktime: { totalUs: number; perVcpuUs: number[] };
  /** Each fault's latency (postcopy-latency-dist buckets: docs/postcopy.md). */
  latency: { avgUs: number; p50Us: number; p99Us: number; dist: number[] };
  /** The uffds' counters, summed. */
  uffd: UffdStats;
  /** Memory-fault exits, and exit-path resolutions that found the page present. */
  exits: { memoryFaults: number; eexist: number };
}

/**
 * What a run in real threads measured: DemandPagingResult (`seconds` from the first vCPU's first
 * access to the last vCPU's last, `latency` of each access from the fault to its completion) plus
 * what makes it checkable.
 */
export interface DemandPagingRun extends DemandPagingResult {
  /** Memory-fault exits, exit-path resolutions and those that found the page present (warm-up included: `warmup` of them). */
  exits: { memoryFaults: number; eexist: number; resolved: number; warmup: number };
  /**
   * The warm-up: its rounds (each faulted every vCPU's warm-up region, zapped in between), and per
   * round the most any vCPU thread's faults allocated per page (ended as `warmedUp` says).
   */
  warmup: { rounds: number; bytesPerPage: number[] };
  /** Reader threads: pages resolved, EEXISTs, and the explicit wakes after them. */
  readers: { threads: number; resolved: number; eexist: number; wakes: number };
  /** The source: pages fetched and the mean time a fetch took (fetchLatencyUs plus overshoot). */
  fetch: { fetches: number; meanFetchUs: number };
  /** Every page (warm-up ones too) checked against the source after the run, and every word the guests read. */
  verify: { pages: number; badPages: number; wrongWords: number };
  /**
   * Bytes the vCPU threads allocated per fault: new-space bytes allocated over each guest's measured
   * pass while faulting, minus the same pass with the pages present (the guest's own loop), per
   * fault; and the scavenges during both passes.
   */
  alloc: { bytesPerFault: number; gcs: number; faultsMeasured: number };
}

const guestPath = fileURLToPath(new URL('./guest/demand-paging-guest.js', import.meta.url));
const exitHandlerPath = fileURLToPath(new URL('./handler/exit-handler.js', import.meta.url));
const readerUrl = new URL('./handler/reader-worker.js', import.meta.url);

/** Pause between the warm-up and the measured pass (outside the measurement), ms. */
export const SETTLE_MS = 100;

/**
 * Warm-up rounds: at least MIN_WARMUP_ROUNDS (the second is the first after a ucall exit), at most
 * MAX_WARMUP_ROUNDS; in between, until warmedUp says the rounds' allocation has settled.
 */
export const MIN_WARMUP_ROUNDS = 2;
export const MAX_WARMUP_ROUNDS = 8;
/** Bytes per page a round may allocate and count as allocating nothing, or as no change from the last. */
export const WARM_BYTES_PER_PAGE = 1;

/**
 * Whether the warm-up is done after rounds that allocated `b` bytes per page each. The exit path
 * allocates nothing once optimized, so its warm-up lasts until a round allocates nothing (a plateau
 * above zero is tiering still under way). The uffd path's vCPU side allocates by design: its
 * warm-up ends when the last round did not fall from the one before.
 */
export function warmedUp(b: readonly number[], path: 'exit' | 'uffd'): boolean {
  const k = b.length;
  if (k < MIN_WARMUP_ROUNDS) return false;
  if (k >= MAX_WARMUP_ROUNDS || b[k - 1] <= WARM_BYTES_PER_PAGE) return true;
  return path === 'uffd' && b[k - 1] >= b[k - 2] - WARM_BYTES_PER_PAGE;
}

/** Observers of a run (tests and tools): called once every thread has started, before the vCPUs run. */
export interface DemandPagingHooks {
  /** The reader threads and vCPUs of the run (a test may kill a reader here to see the run fail). */
  started?: (threads: { readers: readonly Worker[]; vcpus: readonly Vcpu[] }) => void;
}

/** Runs demand_paging_test once with `options` (defaults: DEMAND_PAGING_DEFAULTS). */
export async function demandPaging(options: Partial<DemandPagingOptions> = {}, hooks: DemandPagingHooks = {}): Promise<DemandPagingRun> {
  const o = demandPagingOptions(options);
  const pagesPerVcpu = o.bytesPerVcpu / 4096;
  const measured = o.overlap ? pagesPerVcpu : pagesPerVcpu * o.vcpus;
  // The warm-up regions follow the measured memory, one per vCPU, in the same slot and uffds.
  const pages = measured + o.vcpus * o.warmupPages;
  const bytes = pages * 4096;
  const nUffd = o.singleUffd || o.overlap ? 1 : o.vcpus;
  // With one uffd per vCPU, each covers its vCPU's measured region; the warm-up regions share the last.
  const pagesPerUffd = nUffd === 1 ? pages : pagesPerVcpu;
  const readersPerUffd = o.readers === 'per-vcpu' ? o.vcpus : o.readers;

  const source = await MigrationSource.create(pages, GUEST_BASE_GPA / 4096, o.fetchLatencyUs);
  const vm = new Kvm().createVm({ hostMemoryBytes: Math.min(2 ** 32, bytes + (64 << 20)) });
  const uffds: Userfaultfd[] = [];
  const readers: Worker[] = [];
  const vcpus: Vcpu[] = [];
  const counters = new Int32Array(new SharedArrayBuffer(RUN_COUNTER_WORDS * 4));
  const control = new Int32Array(new SharedArrayBuffer(4));
  let stopping = false;
  try {
    let hva: number;
    if (o.mode === 'minor') {
      const fd = vm.host.memfdCreate(bytes);
      hva = vm.host.mmap(bytes, { memfd: fd });
      const alias = vm.host.mmap(bytes, { memfd: fd });
      await source.prefault(vm.handle(), alias);
    } else {
      hva = vm.host.mmap(bytes);
    }
    if (o.exits) vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
    vm.setUserMemoryRegion({ slot: 1, flags: o.exits ? KVM_MEM_ABSENT_MAPPING_FAULT : 0, guestPhysAddr: GUEST_BASE_GPA, memorySize: bytes, userspaceAddr: hva });
    for (let i = 0; i < nUffd; i++) {
      const u = vm.host.userfaultfd({ nonBlocking: true });
      uffds.push(u);
      u.api(0);
      const first = i * pagesPerUffd;
      const count = i === nUffd - 1 ? pages - first : pagesPerUffd;
      u.register(hva + first * 4096, count * 4096, o.mode === 'missing' ? UFFDIO_REGISTER_MODE_MISSING : UFFDIO_REGISTER_MODE_MINOR);
    }
    const layout: PostcopyLayout = {
      vm: vm.handle(), gpa: GUEST_BASE_GPA, hva, pages, pagesPerUffd, mode: o.mode, uffds: uffds.map((u) => u.handle()),
      server: source.server, claims: new SharedArrayBuffer(pages * 4), counters: counters.buffer as SharedArrayBuffer,
    };

    // Readers: a thread that dies before the run ends fails the run at once (a real VMM would hang).
    let readerDied: (e: Error) => void = () => {};
    const readerDeath = new Promise<never>((_, reject) => { readerDied = reject; });
    readerDeath.catch(() => {});
    const readersDone: Promise<void>[] = [];
    for (let u = 0; u < nUffd; u++) {
      for (let r = 0; r < readersPerUffd; r++) {
        const data: ReaderData = { layout, uffd: u, exclusive: o.wake === 'exclusive', delayUs: o.handlerDelayUs, thread: o.vcpus + readers.length };
        const w = new Worker(readerUrl, { workerData: data });
        readers.push(w);
        let error: Error | undefined;
        w.once('error', (e) => { error = e instanceof Error ? e : new Error(String(e)); });
        readersDone.push(new Promise<void>((resolve) => w.once('exit', (code) => {
          if (!stopping) readerDied(new Error(`reader thread ${readers.indexOf(w)} (uffd ${u}) died during the run (exit code ${code})${error ? `: ${error.message}` : ''}`));
          resolve();
        })));
      }
    }

    const timeline = new SharedArrayBuffer(o.vcpus * 2 * pagesPerVcpu * 8);
    for (let i = 0; i < o.vcpus; i++) {
      const args: DemandPagingGuestArgs = {
        gpa: GUEST_BASE_GPA + (o.overlap ? 0 : i * o.bytesPerVcpu), pages: pagesPerVcpu,
        timeline, offset: i * 2 * pagesPerVcpu, timeOrigin: performance.timeOrigin,
        warmupGpa: GUEST_BASE_GPA + (measured + i * o.warmupPages) * 4096, warmupPages: o.warmupPages, control: control.buffer as SharedArrayBuffer,
      };
      vcpus.push(await createVcpu(vm, i, { guest: `module:${guestPath}#demandPagingGuest`, args }, {
        vmm: o.exits ? [{ handler: `module:${exitHandlerPath}#postcopyExitHandler`, args: layout }] : [],
      }));
    }

    hooks.started?.({ readers, vcpus });
    const runAll = (): Promise<KvmExit[]> => Promise.race([Promise.all(vcpus.map((v) => v.run())), readerDeath]);
    const warmup = { rounds: 0, bytesPerPage: [] as number[] };
    if (o.warmupPages > 0) {
      const claims = new Int32Array(layout.claims);
      for (;;) {
        const worst = Math.max(...(await runAll()).map((e, i) => {
          if (e.reason !== KVM_EXIT_IO || e.ucall.cmd !== 'sync' || Number(e.ucall.values[SYNC_ROUND]) !== warmup.rounds) {
            throw new Error(`vCPU ${i} exited with reason ${e.reason} instead of ending warm-up round ${warmup.rounds}`);
          }
          return Number(e.ucall.values[SYNC_BYTES_PER_PAGE]);
        }));
        warmup.bytesPerPage.push(worst);
        warmup.rounds++;
        const again = !warmedUp(warmup.bytesPerPage, o.exits ? 'exit' : 'uffd');
        Atomics.store(control, WARMUP_AGAIN, again ? 1 : 0);
        if (!again) break;
        // Every vCPU is stopped in its sync: zap the warm-up regions (the MMU notifier drops their
        // sptes; a memfd keeps its page cache, so MINOR faults again) and release their claims.
        vm.host.madvise(hva + measured * 4096, o.vcpus * o.warmupPages * 4096, 'dontneed');
        for (let p = measured; p < pages; p++) Atomics.store(claims, p, PAGE_ABSENT);
      }
      // Every thread is idle now: V8's background compiler finishes what it started during the
      // warm-up, rather than racing the measured pass for the CPUs.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    }
    const exits = await runAll();
    const done = exits.map((e, i) => {
      if (e.reason !== KVM_EXIT_IO || e.ucall.cmd !== 'done') throw new Error(`vCPU ${i} exited with reason ${e.reason} instead of finishing its guest`);
      return e.ucall.values.map(Number);
    });
    stopping = true;
    Atomics.store(counters, RUN_STOP, 1);
    await Promise.all(readersDone);

    const start = Math.min(...done.map((d) => d[GUEST_START]));
    const end = Math.max(...done.map((d) => d[GUEST_END]));
    const seconds = (end - start) / 1000;
    const timelines = vcpus.map((_, i) => new Float64Array(timeline, i * 2 * pagesPerVcpu * 8, 2 * pagesPerVcpu));
    const checked = await source.verify(vm.handle(), hva);
    const warm = o.vcpus * o.warmupPages;
    const sum = (i: number): number => done.reduce((s, d) => s + d[i], 0);
    const faultsMeasured = sum(GUEST_MEASURED);
    const perVcpuRate = pagesPerVcpu / seconds;
    return {
      options: o,
      pages: pagesPerVcpu * o.vcpus,
      seconds,
      perVcpuRate,
      overallRate: perVcpuRate * o.vcpus,
      blocktime: blocktime(timelines),
      latency: latency(timelines),
      uffd: sumUffdStats(uffds.map((u) => u.stats())),
      exits: { memoryFaults: vcpus.reduce((s, v) => s + v.stats().memoryFaults, 0), eexist: counters[RUN_EXIT_EEXIST], resolved: counters[RUN_EXIT_RESOLVED], warmup: o.exits ? warm * warmup.rounds : 0 },
      warmup,
      readers: { threads: readers.length, resolved: counters[RUN_READER_RESOLVED], eexist: counters[RUN_READER_EEXIST], wakes: counters[RUN_READER_WAKES] },
      fetch: pageServerStats(source.server.stats),
      verify: { pages, badPages: checked.badPages, wrongWords: sum(GUEST_WRONG_WORDS) },
      alloc: { bytesPerFault: (sum(GUEST_FAULT_BYTES) - sum(GUEST_PRESENT_BYTES)) / faultsMeasured, gcs: sum(GUEST_GCS), faultsMeasured },
    };
  } finally {
    stopping = true;
    Atomics.store(counters, RUN_STOP, 1);
    // Closing the uffds wakes any vCPU still blocked in them (its fault fails), so destroy cannot hang.
    for (const u of uffds) u.close();
    await Promise.all(vcpus.map((v) => v.destroy()));
    await Promise.all(readers.map((w) => w.terminate()));
    await vm.close();
    await source.close();
  }
}
