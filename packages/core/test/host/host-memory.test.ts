/**
 * HostMemory (docs/api.md): the VMM's address space — lazy and populated mmap, munmap, madvise, host
 * reads/writes, page presence, physical-memory exhaustion — and the KVM MMU notifier that host
 * invalidations drive (reference §3: the hva interval tree, kvm_handle_hva_range's gfn conversion,
 * mmu_invalidate_seq).
 */
import test, { type ExecutionContext } from 'ava';
import { HostMemory, Kvm, PAGE_SIZE, TASK_SIZE_MAX, type Vm } from '@vcpu-rt/core';
import type { GfnRange } from '#internal/vm/mmu-notifier.js';
import { IMPLS, MiB, newVm, region, throwsKvm } from '../vm/_helpers.js';

const P = PAGE_SIZE;

/** A small standalone address space (no VM). */
function host(physicalBytes = 16 * MiB): HostMemory {
  return HostMemory.create({ physicalBytes });
}

const roundUp = (n: number) => Math.ceil(n / P) * P;

test('mmap is lazy: nothing resident, no page present, reads are zero', (t) => {
  const h = host();
  const a = h.mmap(64 * P);
  t.is(h.residentBytes(), 0);
  for (let i = 0; i < 64; i++) t.false(h.isPresent(a + i * P));
  t.deepEqual(h.read(a, 64 * P), new Uint8Array(64 * P));
  t.is(h.residentBytes(), 0, 'reading does not populate');
});

test('mmap of a large length is lazy too (64 GiB of address space)', (t) => {
  const h = host();
  const a = h.mmap(64 * 1024 * MiB);
  t.is(a % P, 0);
  t.is(h.residentBytes(), 0);
  h.write(a + 63 * 1024 * MiB, new Uint8Array([1]));
  t.is(h.residentBytes(), P);
});

test('mmap with populate makes every page present', (t) => {
  const h = host();
  const a = h.mmap(10 * P, { populate: true });
  t.is(h.residentBytes(), 10 * P);
  for (let i = 0; i < 10; i++) t.true(h.isPresent(a + i * P));
  t.deepEqual(h.read(a, 10 * P), new Uint8Array(10 * P), 'populated pages are zeroed');
});

test('mmap returns page-aligned addresses, rounds lengths up to pages, and distinct mappings do not overlap', (t) => {
  const h = host();
  const lengths = [1, P, P + 1, 3 * P, 2 * MiB, 100, 5 * P - 1];
  const ranges: Array<[number, number]> = [];
  for (const len of lengths) {
    const a = h.mmap(len);
    t.is(a % P, 0, `mmap(${len}) = 0x${a.toString(16)}`);
    t.true(a > 0 && a + roundUp(len) <= TASK_SIZE_MAX);
    ranges.push([a, a + roundUp(len)]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < ranges.length; i++) t.true(ranges[i - 1][1] <= ranges[i][0], 'mappings overlap');
  // Every byte of each rounded-up mapping is usable; vmaList covers them all.
  for (const [s, e] of ranges) {
    h.write(e - 1, new Uint8Array([7]));
    t.true(h.vmaList().some(([vs, ve]) => vs <= s && e <= ve));
  }
});

test('write/read round trip within a page and across pages; write populates exactly the touched pages', (t) => {
  const h = host();
  const a = h.mmap(8 * P);
  const data = new Uint8Array(2 * P + 10).map((_, i) => (i * 13) & 0xff);
  h.write(a + P - 5, data); // pages 0..3
  t.deepEqual(h.read(a + P - 5, data.length), data);
  t.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => h.isPresent(a + i * P)), [true, true, true, true, false, false, false, false]);
  t.is(h.residentBytes(), 4 * P);
  t.true(h.isPresent(a + 3 * P + 4095), 'isPresent takes any address in the page');
  h.write(a + 3, new Uint8Array([1, 2, 3]));
  t.deepEqual(h.read(a, 8), new Uint8Array([0, 0, 0, 1, 2, 3, 0, 0]));
});

test('reads and writes outside any mapping are EFAULT', (t) => {
  const h = host();
  const a = h.mmap(2 * P);
  throwsKvm(t, () => h.read(a + 2 * P, 1), 'EFAULT', 'not mapped');
  throwsKvm(t, () => h.read(a + 2 * P - 1, 2), 'EFAULT', 'not mapped'); // runs off the end
  throwsKvm(t, () => h.write(a + 2 * P, new Uint8Array(1)), 'EFAULT', 'not mapped');
  throwsKvm(t, () => h.read(0x1000, 1), 'EFAULT');
  t.false(h.isPresent(a + 2 * P));
});

test('munmap frees the pages; later reads and writes are EFAULT', (t) => {
  const h = host();
  const a = h.mmap(4 * P, { populate: true });
  const b = h.mmap(P, { populate: true });
  t.is(h.residentBytes(), 5 * P);
  h.munmap(a, 4 * P);
  t.is(h.residentBytes(), P);
  throwsKvm(t, () => h.read(a, 1), 'EFAULT');
  throwsKvm(t, () => h.write(a + P, new Uint8Array(1)), 'EFAULT');
  for (let i = 0; i < 4; i++) t.false(h.isPresent(a + i * P));
  t.true(h.isPresent(b), 'other mappings are untouched');
  t.notThrows(() => h.munmap(a, 4 * P), 'munmap of an unmapped range is not an error');
  // Freed frames are reused, zeroed.
  const c = h.mmap(P);
  t.deepEqual(h.read(c, P), new Uint8Array(P));
  h.write(c, new Uint8Array([1]));
  t.is(h.residentBytes(), 2 * P);
});

test('a partial munmap splits the mapping (vmaList) and keeps the rest intact', (t) => {
  const h = host();
  const a = h.mmap(4 * P);
  h.write(a, new Uint8Array(4 * P).fill(9));
  t.deepEqual(h.vmaList(), [[a, a + 4 * P]]);
  h.munmap(a + P, P);
  t.deepEqual(h.vmaList(), [[a, a + P], [a + 2 * P, a + 4 * P]]);
  t.is(h.residentBytes(), 3 * P);
  t.deepEqual(h.read(a, P), new Uint8Array(P).fill(9));
  t.deepEqual(h.read(a + 2 * P, 2 * P), new Uint8Array(2 * P).fill(9));
  throwsKvm(t, () => h.read(a + P, 1), 'EFAULT');
  h.munmap(a + 3 * P, P); // trim the end
  t.deepEqual(h.vmaList(), [[a, a + P], [a + 2 * P, a + 3 * P]]);
  h.munmap(a - P, 2 * P); // a range reaching below the mapping
  t.deepEqual(h.vmaList(), [[a + 2 * P, a + 3 * P]]);
  t.is(h.residentBytes(), P);
});

test("madvise 'dontneed' drops pages: zero, not present, still mapped", (t) => {
  const h = host();
  const a = h.mmap(4 * P);
  h.write(a, new Uint8Array(4 * P).fill(0xaa));
  h.madvise(a + P, 2 * P, 'dontneed');
  t.is(h.residentBytes(), 2 * P);
  t.deepEqual([0, 1, 2, 3].map((i) => h.isPresent(a + i * P)), [true, false, false, true]);
  t.deepEqual(h.read(a + P, 2 * P), new Uint8Array(2 * P));
  t.deepEqual(h.read(a, P), new Uint8Array(P).fill(0xaa));
  t.deepEqual(h.vmaList(), [[a, a + 4 * P]], 'the mapping stays');
  h.write(a + P, new Uint8Array([1]));
  t.true(h.isPresent(a + P));
});

test("madvise 'dontneed' with an unaligned length covers the last partial page", (t) => {
  const h = host();
  const a = h.mmap(4 * P, { populate: true });
  h.madvise(a, P + 1, 'dontneed');
  t.deepEqual([0, 1, 2, 3].map((i) => h.isPresent(a + i * P)), [false, false, true, true]);
});

test("madvise 'populate_write' populates every page and keeps present data", (t) => {
  const h = host();
  const a = h.mmap(8 * P);
  h.write(a + 2 * P, new Uint8Array([5]));
  h.madvise(a, 8 * P, 'populate_write');
  t.is(h.residentBytes(), 8 * P);
  for (let i = 0; i < 8; i++) t.true(h.isPresent(a + i * P));
  t.is(h.read(a + 2 * P, 1)[0], 5);
});

test('madvise on an unmapped range is ENOMEM and changes nothing', (t) => {
  const h = host();
  const a = h.mmap(2 * P, { populate: true });
  throwsKvm(t, () => h.madvise(0x10000000, P, 'dontneed'), 'ENOMEM', 'not');
  throwsKvm(t, () => h.madvise(0x10000000, 4 * P, 'populate_write'), 'ENOMEM', 'not');
  throwsKvm(t, () => h.madvise(a + 2 * P, P, 'dontneed'), 'ENOMEM', 'not'); // just past the mapping
  t.true(h.isPresent(a) && h.isPresent(a + P));
  t.is(h.residentBytes(), 2 * P);
});

test("madvise over a hole is ENOMEM, as in Linux: 'dontneed' still drops the mapped parts, 'populate_write' stops at the hole", (t) => {
  // Linux madvise_walk_vmas applies the advice to every VMA in the range and returns ENOMEM for the
  // unmapped gaps afterwards; MADV_POPULATE_WRITE faults pages in order and fails at the first gap.
  const h = host();
  const a = h.mmap(4 * P, { populate: true });
  h.munmap(a + 2 * P, P);
  t.is(h.residentBytes(), 3 * P);
  throwsKvm(t, () => h.madvise(a, 4 * P, 'dontneed'), 'ENOMEM', 'not');
  t.deepEqual([0, 1, 3].map((i) => h.isPresent(a + i * P)), [false, false, false]);
  t.is(h.residentBytes(), 0);
  throwsKvm(t, () => h.madvise(a, 4 * P, 'populate_write'), 'ENOMEM', 'not');
  t.deepEqual([0, 1, 3].map((i) => h.isPresent(a + i * P)), [true, true, false]);
  t.is(h.residentBytes(), 2 * P);
  t.deepEqual(h.vmaList(), [[a, a + 2 * P], [a + 3 * P, a + 4 * P]], 'madvise never changes the mappings');
});

const BAD_ARGS: Array<[string, (h: HostMemory, a: number) => unknown, string]> = [
  ['munmap of an unaligned address', (h, a) => h.munmap(a + 1, P), 'page aligned'],
  ['madvise of an unaligned address', (h, a) => h.madvise(a + 8, P, 'dontneed'), 'page aligned'],
  ['munmap of length 0', (h, a) => h.munmap(a, 0), 'length'],
  ['madvise of length 0', (h, a) => h.madvise(a, 0, 'populate_write'), 'length'],
  ['mmap of length 0', (h) => h.mmap(0), 'length'],
  ['mmap of a negative length', (h) => h.mmap(-P), 'length'],
  ['mmap of a non-integer length', (h) => h.mmap(1.5), 'length'],
  ['munmap of a negative address', (h) => h.munmap(-P, P), 'addr'],
  ['munmap past TASK_SIZE_MAX', (h) => h.munmap(TASK_SIZE_MAX, P), 'TASK_SIZE_MAX'],
  ['madvise with an unknown advice', (h, a) => h.madvise(a, P, 'free' as 'dontneed'), 'advice'],
  ['read at a negative address', (h) => h.read(-1, 1), 'addr'],
  ['isPresent of a non-integer address', (h) => h.isPresent(0.5), 'addr'],
];
for (const [name, fn, message] of BAD_ARGS) {
  test(`${name} is EINVAL`, (t) => {
    const h = host();
    const a = h.mmap(2 * P, { populate: true });
    throwsKvm(t, () => fn(h, a), 'EINVAL', message);
    t.is(h.residentBytes(), 2 * P);
  });
}

for (const impl of IMPLS) {
  test(`${impl}: exhausting host physical memory (hostMemoryBytes 64 pages) is ENOMEM; freed pages can be reused`, (t) => {
    const vm = newVm(t, { memslots: impl, hostMemoryBytes: 64 * P });
    const h = vm.host;
    const a = h.mmap(128 * P);
    const err = throwsKvm(t, () => { for (let i = 0; i < 128; i++) h.write(a + i * P, new Uint8Array([i])); }, 'ENOMEM');
    t.truthy(err);
    const resident = h.residentBytes();
    t.true(resident > 0 && resident <= 64 * P, `resident ${resident}`);
    throwsKvm(t, () => h.madvise(a, 128 * P, 'populate_write'), 'ENOMEM');
    throwsKvm(t, () => h.mmap(128 * P, { populate: true }), 'ENOMEM');
    t.is(h.residentBytes(), resident, 'a failed populate leaves no pages behind in a new mapping');
    // The pages that did get written hold their data; dropping them makes room again.
    t.is(h.read(a + 5 * P, 1)[0], 5);
    h.madvise(a, 128 * P, 'dontneed');
    t.is(h.residentBytes(), 0);
    h.madvise(a + 64 * P, resident, 'populate_write');
    t.is(h.residentBytes(), resident);
  });
}

// --- MMU notifier ------------------------------------------------------------------------------------

interface Probe {
  ranges: GfnRange[];
  /** Ranges reported since the last take(), sorted by (asId, slot). */
  take(): GfnRange[];
  seq(): number;
}

function probe(vm: Vm): Probe {
  const ranges: GfnRange[] = [];
  vm.onGfnRangeUnmap((r) => ranges.push({ ...r }));
  return {
    ranges,
    take() {
      const out = ranges.splice(0).sort((x, y) => x.asId - y.asId || x.slot - y.slot);
      return out;
    },
    seq: () => vm.shared.ctl.mmuInvalidateSeq(),
  };
}

function checkIdle(t: ExecutionContext, vm: Vm): void {
  t.is(vm.shared.ctl.mmuInvalidateInProgress(), 0, 'mmu_invalidate_in_progress is back to 0');
}

for (const impl of IMPLS) {
  test(`${impl}: MMU notifier: dontneed inside a slot reports its gfn range and bumps mmu_invalidate_seq once`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(16 * P, { populate: true });
    vm.setUserMemoryRegion(region({ slot: 3, guestPhysAddr: 0x100000, memorySize: 16 * P, userspaceAddr: h }));
    const p = probe(vm);
    const seq = p.seq();
    vm.host.madvise(h + 4 * P, 2 * P, 'dontneed');
    t.deepEqual(p.take(), [{ asId: 0, slot: 3, start: 0x104, end: 0x106 }]);
    t.is(p.seq(), seq + 1);
    // Unaligned length: the partial page counts.
    vm.host.madvise(h + 8 * P, P + 1, 'dontneed');
    t.deepEqual(p.take(), [{ asId: 0, slot: 3, start: 0x108, end: 0x10a }]);
    t.is(p.seq(), seq + 2);
    checkIdle(t, vm);
  });

  test(`${impl}: MMU notifier: munmap overlapping a slot's ends is clipped to the slot`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(32 * P);
    vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 0x200000, memorySize: 16 * P, userspaceAddr: h + 8 * P }));
    const p = probe(vm);
    const seq = p.seq();
    vm.host.munmap(h + 20 * P, 12 * P); // slot pages 12..15 and beyond
    t.deepEqual(p.take(), [{ asId: 0, slot: 1, start: 0x20c, end: 0x210 }]);
    vm.host.munmap(h, 10 * P); // before the slot and its pages 0..1
    t.deepEqual(p.take(), [{ asId: 0, slot: 1, start: 0x200, end: 0x202 }]);
    vm.host.munmap(h, 32 * P); // everything: the whole slot
    t.deepEqual(p.take(), [{ asId: 0, slot: 1, start: 0x200, end: 0x210 }]);
    t.is(p.seq(), seq + 3);
    checkIdle(t, vm);
  });

  test(`${impl}: MMU notifier: two slots with overlapping hva ranges are both reported, with their own gfns`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(16 * P, { populate: true });
    vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 0x100000, memorySize: 16 * P, userspaceAddr: h }));
    vm.setUserMemoryRegion(region({ slot: 2, guestPhysAddr: 0x900000, memorySize: 8 * P, userspaceAddr: h + 8 * P }));
    const p = probe(vm);
    const seq = p.seq();
    vm.host.madvise(h + 6 * P, 4 * P, 'dontneed');
    t.deepEqual(p.take(), [
      { asId: 0, slot: 1, start: 0x106, end: 0x10a },
      { asId: 0, slot: 2, start: 0x900, end: 0x902 },
    ]);
    t.is(p.seq(), seq + 1, 'one invalidation, however many slots');
    // Only slot 1's private part.
    vm.host.madvise(h, P, 'dontneed');
    t.deepEqual(p.take(), [{ asId: 0, slot: 1, start: 0x100, end: 0x101 }]);
    t.deepEqual(vm.memslotsInHvaRange(h + 8 * P, h + 8 * P).map((m) => m.id).sort(), [1, 2]);
    checkIdle(t, vm);
  });

  test(`${impl}: MMU notifier: a slot in address space 1 is reported with asId 1`, (t) => {
    const vm = newVm(t, { memslots: impl, addressSpaces: 2 });
    const h = vm.host.mmap(8 * P, { populate: true });
    vm.setUserMemoryRegion(region({ slot: (1 << 16) | 4, guestPhysAddr: 0x300000, memorySize: 8 * P, userspaceAddr: h }));
    const p = probe(vm);
    const seq = p.seq();
    vm.host.madvise(h + P, P, 'dontneed');
    t.deepEqual(p.take(), [{ asId: 1, slot: 4, start: 0x301, end: 0x302 }]);
    t.is(p.seq(), seq + 1);
    // The same host range behind an AS 0 slot too: both address spaces are walked.
    vm.setUserMemoryRegion(region({ slot: 4, guestPhysAddr: 0x500000, memorySize: 8 * P, userspaceAddr: h }));
    vm.host.munmap(h + 7 * P, P);
    t.deepEqual(p.take(), [
      { asId: 0, slot: 4, start: 0x507, end: 0x508 },
      { asId: 1, slot: 4, start: 0x307, end: 0x308 },
    ]);
    t.is(p.seq(), seq + 2);
    checkIdle(t, vm);
  });

  test(`${impl}: MMU notifier: an hva range no slot covers bumps nothing and reports nothing`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(32 * P, { populate: true });
    vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 0x100000, memorySize: 8 * P, userspaceAddr: h + 8 * P }));
    const p = probe(vm);
    const seq = p.seq();
    vm.host.madvise(h, 8 * P, 'dontneed'); // ends exactly where the slot starts
    vm.host.madvise(h + 16 * P, 8 * P, 'dontneed'); // starts exactly where the slot ends
    vm.host.munmap(h + 24 * P, 8 * P);
    const other = vm.host.mmap(4 * P, { populate: true });
    vm.host.munmap(other, 4 * P);
    t.deepEqual(p.take(), []);
    t.is(p.seq(), seq);
    checkIdle(t, vm);
  });

  test(`${impl}: MMU notifier follows MOVE and DELETE of slots`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(8 * P, { populate: true });
    vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 0x100000, memorySize: 8 * P, userspaceAddr: h }));
    vm.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 0x700000, memorySize: 8 * P, userspaceAddr: h }));
    const p = probe(vm);
    const seq = p.seq();
    vm.host.madvise(h + 2 * P, P, 'dontneed');
    t.deepEqual(p.take(), [{ asId: 0, slot: 1, start: 0x702, end: 0x703 }]);
    vm.setUserMemoryRegion(region({ slot: 1 }));
    vm.host.madvise(h + 2 * P, P, 'dontneed');
    t.deepEqual(p.take(), []);
    t.is(p.seq(), seq + 1);
    checkIdle(t, vm);
  });

  test(`${impl}: after dontneed through the notifier, the guest reads zeros and the page can be faulted in again`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const h = vm.host.mmap(4 * P);
    vm.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0x100000, memorySize: 4 * P, userspaceAddr: h }));
    const p = probe(vm);
    vm.writeGuest(0x101000, new Uint8Array([1, 2, 3]));
    vm.host.madvise(h + P, P, 'dontneed');
    t.deepEqual(p.take(), [{ asId: 0, slot: 0, start: 0x101, end: 0x102 }]);
    t.deepEqual(vm.readGuest(0x101000, 3), new Uint8Array(3));
    vm.writeGuest(0x101000, new Uint8Array([4]));
    t.is(vm.host.read(h + P, 1)[0], 4);
  });
}

test('a read longer than read(2) copies in one call (MAX_RW_COUNT) is EINVAL, for host reads and kvm_read_guest', async (t) => {
  const vm = new Kvm().createVm();
  t.teardown(() => vm.close());
  const hva = vm.host.mmap(4096);
  vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 4096, userspaceAddr: hva });
  t.throws(() => vm.host.read(hva, 2 ** 40), { message: /EINVAL: host read: length 1099511627776 is more than one call copies/ });
  t.throws(() => vm.readGuest(0, 2 ** 33), { message: /EINVAL: length 8589934592 is more than one call copies/ });
  t.is(vm.host.read(hva, 16).length, 16);
});
