/**
 * memfd (shmem) mappings and userfaultfd: every mapping of a memfd shows its page cache; dontneed
 * drops a mapping's PTEs but not the page cache; a MINOR fault needs the page in the page cache and
 * no PTE; a MISSING fault needs the page cache empty, and UFFDIO_COPY fills the page cache, so every
 * alias mapping sees the copied page.
 */
import test from 'ava';
import { UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, UFFD_PAGEFAULT_FLAG_MINOR, type HostMemory } from '@vcpu-rt/core';
import { blockOn, Faulter, newUffd, newVm, noBlock, ok, P, patternPage, sleep } from './_helpers.js';

/** A memfd of `pages` pages mapped twice. */
function twoMappings(h: HostMemory, pages: number) {
  const fd = h.memfdCreate(pages * P);
  const a = h.mmap(pages * P, { memfd: fd });
  const b = h.mmap(pages * P, { memfd: fd });
  return { fd, a, b };
}

test('two mappings of one memfd share its pages, at their file offsets', (t) => {
  const h = newVm(t).host;
  const { fd, a, b } = twoMappings(h, 4);
  const c = h.mmap(2 * P, { memfd: fd, offset: 2 * P });
  t.is(h.residentBytes(), 0);
  h.write(a + P + 5, new Uint8Array([1, 2, 3]));
  t.deepEqual([...h.read(b + P + 5, 3)], [1, 2, 3], 'a write through one mapping is seen through the other');
  h.write(b + 3 * P, new Uint8Array([9]));
  t.is(h.read(a + 3 * P, 1)[0], 9);
  t.is(h.read(c + P, 1)[0], 9, 'a mapping at offset 2 pages sees page 3 at its page 1');
  t.true(h.memfdIsCached(fd, P));
  t.true(h.memfdIsCached(fd, 3 * P));
  t.false(h.memfdIsCached(fd, 0));
  t.deepEqual([...h.read(a, 4)], [0, 0, 0, 0]);
  t.true(h.memfdIsCached(fd, 0), 'a read fault of a memfd page allocates it in the page cache (shmem_fault)');
});

test('madvise(dontneed) of one mapping zaps its PTEs but keeps the page cache', (t) => {
  const h = newVm(t).host;
  const { fd, a, b } = twoMappings(h, 2);
  h.write(a, patternPage(a));
  t.deepEqual(h.read(b, P), patternPage(a));
  t.true(h.isPresent(a));
  t.true(h.isPresent(b));
  const resident = h.residentBytes();
  h.madvise(a, 2 * P, 'dontneed');
  t.false(h.isPresent(a), 'the zapped mapping has no PTE');
  t.true(h.isPresent(b), 'the other mapping keeps its PTE');
  t.true(h.memfdIsCached(fd, 0), 'the page cache keeps the page');
  t.is(h.residentBytes(), resident - P);
  t.deepEqual(h.read(b, P), patternPage(a), 'the other mapping still sees the data');
  t.deepEqual(h.read(a, P), patternPage(a), 'a re-read through the zapped mapping sees the data again');
  t.true(h.isPresent(a), 'and maps the page-cache page again');
  // An anonymous mapping, by contrast, loses its data.
  const anon = h.mmap(P);
  h.write(anon, patternPage(anon));
  h.madvise(anon, P, 'dontneed');
  t.deepEqual(h.read(anon, P), new Uint8Array(P));
});

test('MINOR faults only when the page cache has the page and the PTE is absent', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const { fd, a, b } = twoMappings(h, 4);
  // Page 0: cached, mapped in `a`. Page 1: cached, not mapped in `a`. Page 2: not cached. Page 3: cached, then zapped in `a`.
  h.write(b, patternPage(a));
  h.write(b + P, patternPage(a + P));
  h.write(b + 3 * P, patternPage(a + 3 * P));
  h.read(a, 1);
  h.read(a + 3 * P, 1);
  u.register(a, 4 * P, UFFDIO_REGISTER_MODE_MINOR);
  h.madvise(a + 3 * P, P, 'dontneed');
  t.true(h.isPresent(a));
  t.false(h.isPresent(a + P));
  t.false(h.memfdIsCached(fd, 2 * P));
  t.false(h.isPresent(a + 3 * P));

  // No fault: PTE present, or page cache empty (a MINOR-only range allocates it like shmem_fault).
  noBlock(h, () => {
    t.deepEqual(h.read(a, P), patternPage(a));
    t.deepEqual(h.read(a + 2 * P, P), new Uint8Array(P));
  });
  t.true(h.memfdIsCached(fd, 2 * P));
  t.is(u.stats().faults, 0);

  // Faults: cached and not mapped, whether never mapped or zapped.
  const fs: Faulter[] = [];
  for (const page of [a + P, a + 3 * P]) {
    const f = await Faulter.start(t, vm, [{ op: 'read', addr: page, len: 4 }]);
    fs.push(f);
    await blockOn(u, f, 'the minor fault');
  }
  t.deepEqual(u.read(4).map((m) => [m.address, m.flags]), [[a + P, UFFD_PAGEFAULT_FLAG_MINOR], [a + 3 * P, UFFD_PAGEFAULT_FLAG_MINOR]]);
  await sleep(30);
  t.deepEqual(fs.map((f) => f.done), [0, 0]);
  t.is(u.continue(a + P, P), P);
  t.is(u.continue(a + 3 * P, P), P);
  t.deepEqual((await ok(fs[0], 0)).bytes, [...patternPage(a + P).subarray(0, 4)]);
  t.deepEqual((await ok(fs[1], 0)).bytes, [...patternPage(a + 3 * P).subarray(0, 4)]);
  t.true(h.isPresent(a + P));
  // The alias mapping, which is not registered, never faults to the uffd.
  noBlock(h, () => t.deepEqual(h.read(b, 4 * P).subarray(P, 2 * P), patternPage(a + P)));
  t.is(u.stats().faults, 2);
});

test('MISSING on a memfd mapping blocks while the page cache is empty; COPY fills the page cache, which the alias mapping sees', async (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = newUffd(t, h);
  const { fd, a, b } = twoMappings(h, 3);
  h.write(b + 2 * P, patternPage(b + 2 * P)); // page 2 is cached before registration
  u.register(a, 3 * P, UFFDIO_REGISTER_MODE_MISSING);

  const f = await Faulter.start(t, vm, [{ op: 'read', addr: a + P + 4, len: 4 }, { op: 'read', addr: a + 2 * P, len: 4 }]);
  await blockOn(u, f, 'the missing fault');
  t.deepEqual(u.read().map((m) => [m.address, m.flags]), [[a + P, 0]]);
  await sleep(30);
  t.is(f.done, 0);
  t.false(h.memfdIsCached(fd, P));
  t.is(u.copy(a + P, patternPage(a + P)), P);
  t.true(h.memfdIsCached(fd, P), 'COPY put the page in the page cache');
  t.deepEqual((await ok(f, 0)).bytes, [...patternPage(a + P).subarray(4, 8)]);
  t.false(h.isPresent(b + P));
  t.deepEqual(h.read(b + P, P), patternPage(a + P), 'the alias mapping sees the copied page');

  // A page already in the page cache is not missing: no fault, the PTE is filled from the cache.
  f.go();
  t.deepEqual((await ok(f, 1, 2000)).bytes, [...patternPage(b + 2 * P).subarray(0, 4)]);
  t.is(u.stats().faults, 1);

  // The alias mapping is not registered: touching its page 0 fills the cache, and then `a` does not fault either.
  noBlock(h, () => h.write(b, new Uint8Array([0x5a])));
  noBlock(h, () => t.is(h.read(a, 1)[0], 0x5a));
  t.is(u.stats().faults, 1);
});
