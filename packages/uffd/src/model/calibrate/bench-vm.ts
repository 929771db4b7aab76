/** The benchmark VM and the in-thread microbenchmark sessions on it (wait queues, fault path) with the costs taken from them. */
import {
  HostMemory, Kvm, KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEMFAULT_REASON_ABSENT_MAPPING, RET_PF_FIXED, RET_PF_MEMORY_FAULT,
  UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, VcpuMmu, type Userfaultfd, type Vm,
} from '@vcpu-rt/core';
import { ADDR, FAR, fakeRecord, GPA, GPA_PLAIN, PAGE, type Config } from './config.js';
import { f3, fitLine, now, type Bins } from './stats.js';

type UffdCtx = ReturnType<HostMemory['uffd']['ctx']>;

// --- 2. the benchmark VM -------------------------------------------------------------------------

/** A VM set up as a MINOR demand-paging run is: a memfd whose page cache is full, its guest mapping registered MINOR and in an ABSENT_MAPPING_FAULT slot. */
export interface BenchVm {
  vm: Vm;
  uffd: Userfaultfd;
  ctx: UffdCtx;
  hva: number;
  pages: number;
  /** An anonymous mapping in an ordinary slot at GPA_PLAIN (the plain KVM fault). */
  anon: number;
  anonPages: number;
}

export function benchVm(pages: number): BenchVm {
  const bytes = pages * PAGE;
  const anonPages = Math.min(1024, pages);
  const vm = new Kvm().createVm({ hostMemoryBytes: 2 * bytes + anonPages * PAGE + (16 << 20) });
  try {
    const fd = vm.host.memfdCreate(bytes);
    const hva = vm.host.mmap(bytes, { memfd: fd });
    const alias = vm.host.mmap(bytes, { memfd: fd });
    vm.host.madvise(alias, bytes, 'populate_write');
    const anon = vm.host.mmap(anonPages * PAGE);
    vm.enableCap(KVM_CAP_X86_MEMORY_FAULT_EXIT, [KVM_MEMFAULT_REASON_ABSENT_MAPPING]);
    vm.setUserMemoryRegion({ slot: 1, flags: KVM_MEM_ABSENT_MAPPING_FAULT, guestPhysAddr: GPA, memorySize: bytes, userspaceAddr: hva });
    vm.setUserMemoryRegion({ slot: 2, flags: 0, guestPhysAddr: GPA_PLAIN, memorySize: anonPages * PAGE, userspaceAddr: anon });
    const uffd = vm.host.userfaultfd({ nonBlocking: true });
    uffd.api(0);
    uffd.register(hva, bytes, UFFDIO_REGISTER_MODE_MINOR);
    return { vm, uffd, ctx: vm.host.uffd.ctx(uffd.id), hva, pages, anon, anonPages };
  } catch (e) {
    void vm.close();
    throw e;
  }
}

export interface WaitQueueCosts {
  enqueue: number;
  readOne: number;
  refile: number;
  /** wake() over B queued waiters, none in range: intercept and slope (records in this thread's cache). */
  walk: { intercept: number; slope: number; points: [number, number][] };
  /** wake() of one queued waiter in range (no thread asleep on it). */
  wakeMatched: number;
  /** wakeReaders() over K parked entries (no thread asleep on them): intercept and slope. */
  fdWake: { intercept: number; slope: number; points: [number, number][] };
  /** Atomics.notify of a word nobody waits on. */
  notifyIdle: number;
  /** Userfaultfd.wait(0) + read(1) with a message pending, and that minus readOne. */
  waitRead: number;
  readerSyscall: number;
}

const FD_ENTRIES = [0, 4, 16, 64];

/**
 * One session of the wait-queue operations of UffdCtx, on the benchmark VM's context, with waiter
 * records queued from this thread (no threads block): batches of back-to-back calls, µs per call.
 */
export function waitQueueSession(b: BenchVm, cfg: Config, timer: number, bins: Bins): void {
  const { ctx, uffd } = b;
  const K = 64;
  const clear = (n: number): void => ctx.wake(ADDR, n * PAGE);
  const batched = (key: string, setup: (() => void) | undefined, body: () => void, cleanup: () => void): void => bins.run(key, cfg.reps, () => {
    let ms = 0;
    for (let j = 0; j < cfg.batches; j++) {
      setup?.();
      const t0 = now();
      body();
      ms += now() - t0;
      cleanup();
    }
    return (ms * 1000) / (cfg.batches * K);
  });
  const enqueueK = (): void => { for (let i = 0; i < K; i++) ctx.enqueue(fakeRecord(i), ADDR + i * PAGE, 0, 0); };

  // handle_userfault's enqueue: UffdCtx.enqueue (record fill, fault_pending_wqh.lock, __add_wait_queue, unlock, C_FAULTS).
  batched('enqueue', undefined, enqueueK, () => clear(K));
  // userfaultfd_ctx_read: UffdCtx.readOne (fd_wqh.lock → fault_pending_wqh.lock, oldest entry, refile under fault_wqh.lock).
  batched('readOne', enqueueK, () => { for (let i = 0; i < K; i++) ctx.readOne(false); }, () => clear(K));
  // The refile alone: fault_wqh.lock, add, unlock (the real WaitQueueHead calls readOne makes).
  const q = ctx.faultWqh;
  batched('refile', undefined, () => { for (let i = 0; i < K; i++) { q.lock(); q.add(fakeRecord(i)); q.unlock(); } }, () => clear(K));
  // __wake_userfault over B queued waiters, none in the woken range: every entry is visited.
  for (const B of cfg.walkLengths) {
    for (let i = 0; i < B; i++) ctx.enqueue(fakeRecord(i), ADDR + i * PAGE, 0, 0);
    const M = 64;
    bins.run(`walk:${B}`, cfg.reps, () => {
      const t0 = now();
      for (let j = 0; j < M; j++) ctx.wake(FAR, PAGE);
      return ((now() - t0) * 1000) / M;
    });
    clear(B);
  }
  // One waiter, in range: enqueue + wake pairs (the enqueue alone is taken off later).
  batched('pair', undefined, () => { for (let i = 0; i < K; i++) { ctx.enqueue(fakeRecord(0), ADDR, 0, 0); ctx.wake(ADDR, PAGE); } }, () => {});
  // wake_up_poll(&fd_wqh): wakeReaders over K parked (non-exclusive) entries, single timed calls.
  const fq = ctx.fdWqh;
  for (const n of FD_ENTRIES) {
    bins.run(`fd:${n}`, cfg.reps * 5, () => {
      for (let i = 0; i < n; i++) { fq.lock(); fq.add(fakeRecord(i)); fq.unlock(); }
      const t0 = now();
      ctx.wakeReaders();
      return (now() - t0) * 1000 - timer;
    });
  }
  const word = new Int32Array(new SharedArrayBuffer(64));
  bins.run('notifyIdle', cfg.reps, () => {
    const N = 1000;
    const t0 = now();
    for (let j = 0; j < N; j++) Atomics.notify(word, 0, 1);
    return ((now() - t0) * 1000) / N;
  });
  // A reader's per-message overhead outside the locks: poll returning at once, read(1) around readOne.
  batched('waitRead', enqueueK, () => { for (let i = 0; i < K; i++) { uffd.wait(0); uffd.read(1); } }, () => clear(K));
}

export function waitQueueCosts(bins: Bins, cfg: Config, say: (s: string) => void): WaitQueueCosts {
  const enqueue = bins.med('enqueue');
  const readOne = bins.med('readOne');
  const refile = bins.med('refile');
  const points = cfg.walkLengths.map((B): [number, number] => [B, bins.med(`walk:${B}`)]);
  const walk = { ...fitLine(points.map((p) => p[0]), points.map((p) => p[1])), points };
  const wakeMatched = bins.med('pair') - enqueue;
  const fdPoints = FD_ENTRIES.map((n): [number, number] => [n, bins.med(`fd:${n}`)]);
  const fdWake = { ...fitLine(fdPoints.map((p) => p[0]), fdPoints.map((p) => p[1])), points: fdPoints };
  const notifyIdle = bins.med('notifyIdle');
  const waitRead = bins.med('waitRead');
  say(`wait queues (${bins.count('enqueue')} repeats): enqueue ${f3(enqueue)} µs, readOne ${f3(readOne)} µs (of which the refile under fault_wqh.lock ${f3(refile)} µs), ` +
    `wait(0) + read(1) with a message pending ${f3(waitRead)} µs`);
  say(`wake walk (records in this CPU's cache): ${points.map(([B, us]) => `B=${B}: ${f3(us)}`).join(', ')} µs → ${f3(walk.intercept)} µs + ${f3(walk.slope * 1000)} ns/waiter; ` +
    `one waiter in range: ${f3(wakeMatched)} µs`);
  say(`fd_wqh wake (entries with nobody asleep): ${fdPoints.map(([n, us]) => `K=${n}: ${f3(us)}`).join(', ')} µs → ${f3(fdWake.intercept)} µs + ${f3(fdWake.slope)} µs/entry; ` +
    `Atomics.notify with no waiter ${f3(notifyIdle)} µs`);
  return { enqueue, readOne, refile, walk, wakeMatched, fdWake, notifyIdle, waitRead, readerSyscall: waitRead - readOne };
}

export interface FaultPathCosts {
  /** TLB miss, TDP walk miss and kvm_tdp_page_fault up to the ABSENT_MAPPING exit decision. */
  entryExit: number;
  /** HostMemory.faultIn answering VM_FAULT_USERFAULT (GUP meeting the registration). */
  faultInUserfault: number;
  /** userfaultfd_must_wait (HostMemory.userfaultfdMustWait). */
  mustWait: number;
  /** UFFDIO_CONTINUE + DONTWAKE of one page (page cache full). */
  continueCall: number;
  /** The fault again on a now-present page: spte installed (RET_PF_FIXED), TDP walk hit. */
  install: number;
  /** A plain fault on absent anonymous memory in an ordinary slot (frame allocated and zeroed, spte installed). */
  plainFault: number;
  /** claim: the CAS on a fresh word of the claim bitmap. */
  cas: number;
  /** An Atomics.add on a line this thread holds. */
  rmw: number;
  /** UFFDIO_COPY + DONTWAKE into fresh anonymous memory. */
  copy: number;
}

/**
 * One session of the vCPU fault path (VcpuMmu, in this thread), GUP's userfault answer, must_wait,
 * CONTINUE, the exit path's CAS, and COPY: per-page means over the benchmark VM's region.
 */
export function faultPathSession(b: BenchVm, cfg: Config, bins: Bins): void {
  const { vm, uffd, hva, pages } = b;
  const requests = vm.shared.vcpus.claim(0);
  const mmu = new VcpuMmu(vm.shared, requests);
  const gfn0 = GPA / PAGE;
  const reset = (start: number, n: number): void => {
    // Outside guest mode, so that the MMU notifier's TLB-flush request does not wait for this thread.
    requests.exitGuest();
    vm.host.madvise(start, n * PAGE, 'dontneed');
    mmu.checkRequests();
  };
  let bad = 0;
  try {
    const per = (ms: number): number => (ms * 1000) / pages;
    for (let rep = 0; rep < cfg.reps + 2; rep++) {
      let t0 = now();
      for (let p = 0; p < pages; p++) if (vm.host.faultIn(hva + p * PAGE, 0) !== -2) bad++;
      const faultIn = per(now() - t0);
      t0 = now();
      for (let p = 0; p < pages; p++) {
        if (mmu.walk(gfn0 + p, false)) bad++;
        if (mmu.pageFault(GPA + p * PAGE, false) !== RET_PF_MEMORY_FAULT) bad++;
      }
      const entry = per(now() - t0);
      t0 = now();
      for (let p = 0; p < pages; p++) uffd.continue(hva + p * PAGE, PAGE, UFFDIO_COPY_MODE_DONTWAKE);
      const cont = per(now() - t0);
      t0 = now();
      for (let p = 0; p < pages; p++) {
        if (mmu.pageFault(GPA + p * PAGE, false) !== RET_PF_FIXED) bad++;
        if (!mmu.walk(gfn0 + p, false)) bad++;
      }
      const install = per(now() - t0);
      reset(hva, pages);
      if (rep < 2) continue;
      bins.add('faultIn', faultIn);
      bins.add('entry', entry);
      bins.add('cont', cont);
      bins.add('install', install);
    }

    // The plain KVM fault, no uffd: a frame is allocated (a recycled one is zeroed), the PTE and spte installed.
    const g2 = GPA_PLAIN / PAGE;
    bins.run('plain', cfg.reps, () => {
      const t0 = now();
      for (let p = 0; p < b.anonPages; p++) {
        mmu.walk(g2 + p, false);
        if (mmu.pageFault(GPA_PLAIN + p * PAGE, false) !== RET_PF_FIXED) bad++;
        mmu.walk(g2 + p, false);
      }
      const us = ((now() - t0) * 1000) / b.anonPages;
      reset(b.anon, b.anonPages);
      return us;
    });

    // userfaultfd_must_wait, after a faultIn that left handle_userfault's arguments (the page's PTE absent).
    vm.host.faultIn(hva, 0);
    const mustWait = (): boolean => vm.host['userfaultfdMustWait'](uffd.id);
    bins.run('mustWait', cfg.reps, () => {
      const N = 1000;
      let w = 0;
      const t0 = now();
      for (let j = 0; j < N; j++) if (mustWait()) w++;
      const us = ((now() - t0) * 1000) / N;
      if (w !== N) bad++;
      return us;
    });

    const claims = new Int32Array(new SharedArrayBuffer(pages * 4));
    bins.run('cas', cfg.reps, () => {
      claims.fill(0);
      const t0 = now();
      for (let p = 0; p < pages; p++) Atomics.compareExchange(claims, p, 0, 1);
      return ((now() - t0) * 1000) / pages;
    });
    const counter = new Int32Array(new SharedArrayBuffer(64));
    bins.run('rmw', cfg.reps, () => {
      const N = 10000;
      const t0 = now();
      for (let j = 0; j < N; j++) Atomics.add(counter, 0, 1);
      return ((now() - t0) * 1000) / N;
    });
  } finally {
    requests.release();
  }
  if (bad) throw new Error(`calibrate: the fault-path benchmark saw ${bad} unexpected answers`);

  // UFFDIO_COPY + DONTWAKE into fresh anonymous memory registered MISSING: a new address space each
  // repeat, as each MISSING run has (its frames are new, untouched memory).
  const src = new Uint8Array(new SharedArrayBuffer(pages * PAGE));
  for (let i = 0; i < src.length; i += 64) src[i] = i & 0xff;
  bins.run('copy', Math.max(3, cfg.reps >> 1), () => {
    const host = HostMemory.create({ physicalBytes: (pages + 64) * PAGE, maxPageTables: 64 });
    const u = host.userfaultfd({ nonBlocking: true });
    try {
      u.api(0);
      const dst = host.mmap(pages * PAGE);
      u.register(dst, pages * PAGE, UFFDIO_REGISTER_MODE_MISSING);
      const t0 = now();
      for (let p = 0; p < pages; p++) u.copy(dst + p * PAGE, src, UFFDIO_COPY_MODE_DONTWAKE, p * PAGE, PAGE);
      return ((now() - t0) * 1000) / pages;
    } finally {
      u.close();
      host.release();
    }
  }, 1);
}

export function faultPathCosts(bins: Bins, say: (s: string) => void): FaultPathCosts {
  const out: FaultPathCosts = {
    entryExit: bins.med('entry'), faultInUserfault: bins.med('faultIn'), mustWait: bins.med('mustWait'), continueCall: bins.med('cont'),
    install: bins.med('install'), plainFault: bins.med('plain'), cas: bins.med('cas'), rmw: bins.med('rmw'), copy: bins.med('copy'),
  };
  say(`fault path (this thread, ${bins.count('entry')} repeats): to the exit decision ${f3(out.entryExit)} µs, faultIn → VM_FAULT_USERFAULT ${f3(out.faultInUserfault)} µs, ` +
    `must_wait ${f3(out.mustWait)} µs, CONTINUE+DONTWAKE ${f3(out.continueCall)} µs, COPY+DONTWAKE (fresh memory) ${f3(out.copy)} µs, refault + spte install ${f3(out.install)} µs, ` +
    `plain anonymous fault ${f3(out.plainFault)} µs; CAS ${f3(out.cas * 1000)} ns, Atomics.add ${f3(out.rmw * 1000)} ns`);
  return out;
}
