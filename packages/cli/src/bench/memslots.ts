/**
 * `vcpu-rt bench memslots`: memslot_perf_test's operations on both memslot designs in one process
 * run. Layout from tools/testing/selftests/kvm/memslot_perf_test.c: the test area is 512 MiB + 64 KiB
 * at gpa 256 MiB, split evenly over the slots (remainder in the last one).
 */
import { Kvm, KVM_EXIT_IO, type MemslotImpl, PAGE_SIZE, VcpuMemslotCache, type Vm } from '@vcpu-rt/core';
import { createVcpu, type Vcpu } from '@vcpu-rt/vcpu';
import { since, summarize } from './stats.js';

/** memslot_perf_test's MEM_GPA. */
export const MEM_GPA = 256 << 20;
/** memslot_perf_test's MEM_SIZE. */
export const MEM_SIZE = (512 << 20) + (64 << 10);
/** memslot_perf_test's MEM_TEST_UNMAP_SIZE and MEM_TEST_UNMAP_CHUNK_PAGES (in bytes). */
export const UNMAP_SIZE = 128 << 20;
export const UNMAP_CHUNK = 2 << 20;
/** memslot_perf_test's map-test area (MEM_TEST_MAP_SIZE + the 64 KiB sync area) and its slot cap. */
export const MAP_SIZE = (32 << 20) + (64 << 10);
export const MAP_MAX_SLOTS = 8194;
/** memslot_perf_test's MEM_TEST_MOVE_SIZE and MEM_TEST_MOVE_GPA_DEST. */
export const MOVE_SIZE = 3 * (64 << 10);
export const MOVE_GPA_DEST = MEM_GPA + MEM_SIZE;
/** Seed 004's slot counts (32k = every usable slot but slot 0). */
export const DEFAULT_SLOTS = [10, 30, 50, 100, 509, 32763];
/** The tests, in run order. */
export const MEMSLOT_TESTS = ['setup', 'map', 'move-active', 'move-inactive', 'lookup', 'lookup-random', 'unmap', 'unmap-2m'] as const;
export type MemslotTest = (typeof MEMSLOT_TESTS)[number];

/** One row of the machine-readable report. */
export interface MemslotResult {
  test: MemslotTest;
  slots: number;
  impl: MemslotImpl;
  /** Median over repeats: per setup, per move, per lookup, per map iteration, or per pass over the unmap area. */
  seconds: number;
  /** Operations timed in one repeat. */
  iterations: number;
  repeats: number;
  min: number;
  max: number;
  /** Move tests: what the guest vCPU did meanwhile (summed over repeats). */
  guest?: GuestStats;
}

/** What the guest vCPU of a move test did while the slot moved. */
export interface GuestStats {
  mmioExits: number;
  pageFaults: number;
}

/** What to run. */
export interface MemslotBenchOptions {
  slots: number[];
  impls: MemslotImpl[];
  repeats: number;
  /** Wall time each move repeat runs for. */
  moveSeconds: number;
  /** Called after each step (`done` of `total`) and, at most once a second, during a long one. */
  progress?: (line: string, done: number, total: number) => void;
}

interface Prepared { vm: Vm; hva: number; seconds: number }

/**
 * Creates `nslots` slots (ids 1..nslots) over a test area of `size` bytes: the "slot setup" of
 * memslot_perf_test. `onSlots` hears every 1024 slots, because 32k array slots take many seconds.
 */
export function prepareVm(impl: MemslotImpl, nslots: number, size = MEM_SIZE, onSlots?: (created: number) => void): Prepared {
  const vm = new Kvm().createVm({ memslots: impl, hostMemoryBytes: 64 << 20 });
  const hva = vm.host.mmap(size);
  const pages = size / PAGE_SIZE;
  const per = Math.floor(pages / nslots);
  const t0 = performance.now();
  for (let i = 0; i < nslots; i++) {
    const npages = i === nslots - 1 ? pages - per * (nslots - 1) : per;
    vm.setUserMemoryRegion({
      slot: i + 1, flags: 0, guestPhysAddr: MEM_GPA + i * per * PAGE_SIZE,
      memorySize: npages * PAGE_SIZE, userspaceAddr: hva + i * per * PAGE_SIZE,
    });
    if (onSlots && (i & 1023) === 1023) onSlots(i + 1);
  }
  return { vm, hva, seconds: since(t0) };
}

/**
 * test_memslot_move_loop: moves the last slot to MOVE_GPA_DEST and back until `seconds` pass, while
 * a guest vCPU writes a 192 KiB window across the slot's start (active) or below it (inactive); its
 * MMIO writes while the slot is away are completed in its own thread, as the selftest's vCPU thread
 * accepts them. Returns seconds per move.
 */
async function moveTest(p: Prepared, nslots: number, active: boolean, seconds: number): Promise<{ perMove: number; moves: number; guest: GuestStats }> {
  const last = p.vm.memslots().find((s) => s.id === nslots)!;
  const src = last.baseGfn * PAGE_SIZE;
  const start = src - (active ? MOVE_SIZE / 2 : MOVE_SIZE);
  const v = await createVcpu(p.vm, 0, { guest: 'memslot-perf', args: { test: 'move', gpa: start, size: MOVE_SIZE } },
    { vmm: [{ handler: 'mmio-sink', args: { min: src, max: src + MOVE_SIZE / 2 - 1 } }] });
  // Every exit is handled in the vCPU's thread: this run() only settles when the vCPU is destroyed.
  const running = v.run().then(() => { throw new Error('move guest: unexpected exit reached run()'); }, () => undefined);
  try {
    // Until the guest has been through its whole window once (sptes left by an earlier test count too).
    while (v.stats().tlbMisses < MOVE_SIZE / PAGE_SIZE) await new Promise((r) => setTimeout(r, 1));
    const before = v.stats();
    const region = { slot: nslots, flags: 0, memorySize: last.npages * PAGE_SIZE, userspaceAddr: last.userspaceAddr };
    let moves = 0;
    const t0 = performance.now();
    do {
      p.vm.setUserMemoryRegion({ ...region, guestPhysAddr: MOVE_GPA_DEST });
      p.vm.setUserMemoryRegion({ ...region, guestPhysAddr: src });
      moves += 2;
    } while (since(t0) < seconds || moves < 20);
    const elapsed = since(t0);
    const after = v.stats();
    return { perMove: elapsed / moves, moves, guest: { mmioExits: after.mmioExits - before.mmioExits, pageFaults: after.pageFaults - before.pageFaults } };
  } finally {
    await v.destroy();
    await running;
  }
}

/** kvm_vcpu_gfn_to_memslot under SRCU, once per gfn: seconds per lookup. */
function lookupTest(vm: Vm, gfns: Float64Array): number {
  const shared = vm.shared;
  const cache = new VcpuMemslotCache(shared);
  const srcu = shared.srcuReader;
  let found = 0;
  const t0 = performance.now();
  for (let i = 0; i < gfns.length; i++) {
    const idx = srcu.lock();
    if (cache.lookup(0, gfns[i]) >= 0) found++;
    srcu.unlock(idx);
  }
  const s = since(t0);
  if (found !== gfns.length) throw new Error(`lookup: ${gfns.length - found} gfns of the test area found no slot`);
  return s / gfns.length;
}

async function toSync(v: Vcpu): Promise<void> {
  const e = await v.run();
  if (e.reason !== KVM_EXIT_IO) throw new Error(`memslot-perf guest: unexpected exit ${e.reason}`);
}

function dontneed(p: Prepared, from: number, to: number, chunk: number): void {
  for (let off = from; off < to; off += chunk) p.vm.host.madvise(p.hva + off, chunk, 'dontneed');
}

/**
 * test_memslot_unmap_loop: the guest touches one page of a half, the host madvise(DONTNEED)s the other
 * half of the UNMAP_SIZE area in `chunk`-byte calls, and the other way round. Seconds per iteration.
 */
async function unmapTest(p: Prepared, chunk: number, repeats: number, onPass: (pass: number) => void = () => {}): Promise<number[]> {
  const v = await createVcpu(p.vm, 0, { guest: 'memslot-perf', args: { test: 'unmap', gpa: MEM_GPA, size: UNMAP_SIZE } });
  const half = UNMAP_SIZE / 2;
  const out: number[] = [];
  try {
    await toSync(v); // the first half's page is mapped
    for (let r = 0; r <= repeats; r++) {
      const t0 = performance.now();
      dontneed(p, half, UNMAP_SIZE, chunk);
      await toSync(v);
      dontneed(p, 0, half, chunk);
      await toSync(v);
      if (r > 0) out.push(since(t0));
      onPass(r);
    }
  } finally {
    await v.destroy();
  }
  return out;
}

/**
 * test_memslot_map_loop: the guest writes one u64 to every page of one half (each a page fault and a
 * host page allocation) while the other half is madvise(DONTNEED)ed. Seconds per iteration.
 */
async function mapTest(impl: MemslotImpl, nslots: number, repeats: number, onPass: (what: string) => void = () => {}): Promise<number[]> {
  const p = prepareVm(impl, Math.min(nslots, MAP_MAX_SLOTS), MAP_SIZE, (n) => onPass(`${n} slots created`));
  const area = MAP_SIZE - (64 << 10);
  const half = area / 2;
  const v = await createVcpu(p.vm, 0, { guest: 'memslot-perf', args: { test: 'map', gpa: MEM_GPA, size: area } });
  const out: number[] = [];
  try {
    for (let r = 0; r <= repeats; r++) {
      const t0 = performance.now();
      await toSync(v); // first half written
      dontneed(p, half, area, area - half);
      await toSync(v); // second half written
      dontneed(p, 0, half, half);
      if (r > 0) out.push(since(t0));
      onPass(r === 0 ? 'warm-up pass' : `pass ${r}/${repeats}`);
    }
  } finally {
    await v.destroy();
    await p.vm.close();
  }
  return out;
}

function row(test: MemslotTest, slots: number, impl: MemslotImpl, samples: number[], iterations: number, guest?: MemslotResult['guest']): MemslotResult {
  const s = summarize(samples);
  return { test, slots, impl, seconds: s.median, iterations, repeats: s.repeats, min: s.min, max: s.max, ...(guest ? { guest } : {}) };
}

/**
 * Progress of a run: steps count towards the total; `tick` says what a long step is doing at most
 * once a second, so that no part of a run (32k array slots take 16 s to create) is silent.
 */
function stepper(total: number, progress?: MemslotBenchOptions['progress']) {
  let done = 0;
  let last = performance.now();
  return {
    step(line: string) {
      done++;
      last = performance.now();
      progress?.(line, done, total);
    },
    tick(line: string) {
      if (performance.now() - last < 1000) return;
      last = performance.now();
      progress?.(line, done, total);
    },
  };
}

/** Runs every test for every slot count and design; both designs are measured in this one run. */
export async function benchMemslots(o: MemslotBenchOptions): Promise<MemslotResult[]> {
  const out: MemslotResult[] = [];
  const s = stepper(o.impls.length + o.slots.length * o.impls.length * (3 * o.repeats + 5), o.progress);
  for (const impl of o.impls) {
    // Warm-up: let the JIT see every path before anything is timed.
    const w = prepareVm(impl, 64);
    await moveTest(w, 64, true, 0.05);
    lookupTest(w.vm, seqGfns().subarray(0, 4096));
    await unmapTest(w, UNMAP_CHUNK, 1);
    await w.vm.close();
    await mapTest(impl, 64, 1);
    s.step(`${impl}: warm-up done`);
  }
  for (const nslots of o.slots) {
    for (const impl of o.impls) {
      const at = `${impl} ${nslots} slots`;
      const last = () => fmt(out[out.length - 1].seconds);
      const setup: number[] = [];
      let p: Prepared | undefined;
      for (let r = 0; r < o.repeats; r++) {
        if (p) await p.vm.close();
        p = prepareVm(impl, nslots, MEM_SIZE, (n) => s.tick(`${at}: setup ${r + 1}/${o.repeats}, ${n} of ${nslots} slots created`));
        setup.push(p.seconds);
        s.step(`${at}: setup ${r + 1}/${o.repeats} took ${fmt(p.seconds)}`);
      }
      out.push(row('setup', nslots, impl, setup, nslots));
      out.push(row('map', Math.min(nslots, MAP_MAX_SLOTS), impl, await mapTest(impl, nslots, o.repeats, (what) => s.tick(`${at}: map, ${what}`)), (MAP_SIZE - (64 << 10)) / PAGE_SIZE));
      s.step(`${at}: map ${last()} per iteration`);
      for (const active of [true, false]) {
        const test = active ? 'move-active' : 'move-inactive';
        const per: number[] = [];
        let moves = 0;
        const guest: GuestStats = { mmioExits: 0, pageFaults: 0 };
        for (let r = 0; r < o.repeats; r++) {
          const m = await moveTest(p!, nslots, active, o.moveSeconds);
          per.push(m.perMove);
          moves = m.moves;
          guest.mmioExits += m.guest.mmioExits;
          guest.pageFaults += m.guest.pageFaults;
          s.step(`${at}: ${test} ${r + 1}/${o.repeats}, ${fmt(m.perMove)} per move`);
        }
        out.push(row(test, nslots, impl, per, moves, guest));
      }
      for (const [test, gfns] of [['lookup', seqGfns()], ['lookup-random', randomGfns()]] as const) {
        const per: number[] = [];
        for (let r = 0; r < o.repeats; r++) per.push(lookupTest(p!.vm, gfns));
        out.push(row(test, nslots, impl, per, gfns.length));
        s.step(`${at}: ${test} ${last()} per lookup`);
      }
      for (const [test, chunk] of [['unmap', PAGE_SIZE], ['unmap-2m', UNMAP_CHUNK]] as const) {
        const passes = await unmapTest(p!, chunk, o.repeats, (r) => s.tick(`${at}: ${test}, ${r === 0 ? 'warm-up pass' : `pass ${r}/${o.repeats}`} done`));
        out.push(row(test, nslots, impl, passes, UNMAP_SIZE / chunk));
        s.step(`${at}: ${test} ${last()} per iteration`);
      }
      await p!.vm.close();
    }
  }
  return out;
}

/** Every gfn of the test area in order: the order memslot_perf_test's map guest touches pages in. */
function seqGfns(): Float64Array {
  const n = MEM_SIZE / PAGE_SIZE;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = MEM_GPA / PAGE_SIZE + i;
  return g;
}

/** Uniformly random gfns of the test area (a fixed seed, so both designs see the same ones). */
function randomGfns(): Float64Array {
  const n = MEM_SIZE / PAGE_SIZE;
  const g = new Float64Array(1 << 17);
  let x = 0x2545f491;
  for (let i = 0; i < g.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    g[i] = MEM_GPA / PAGE_SIZE + ((x >>> 0) % n);
  }
  return g;
}

/** Seconds, in engineering notation. */
export function fmt(s: number): string {
  return s >= 0.01 ? `${s.toFixed(4)}s` : `${s.toExponential(3)}s`;
}
