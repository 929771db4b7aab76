/**
 * userfaultfd's rules and their errno (docs/api.md "@vcpu-rt/core — userfaultfd"; fs/userfaultfd.c and
 * mm/userfaultfd.c): one row per rule, each run on a fresh VM. Every failing call is checked for its
 * KvmError code, its errno and the words of the rule in its message.
 */
import test, { type ExecutionContext } from 'ava';
import {
  _UFFDIO_CONTINUE, _UFFDIO_COPY, _UFFDIO_REGISTER, _UFFDIO_UNREGISTER, _UFFDIO_WAKE, _UFFDIO_ZEROPAGE, attachUserfaultfd,
  UFFD_API_FEATURES, UFFD_FEATURE_EXACT_ADDRESS, UFFD_FEATURE_MINOR_SHMEM, UFFD_FEATURE_MISSING_SHMEM, UFFD_FEATURE_THREAD_ID,
  UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, UFFDIO_REGISTER_MODE_WP,
  type HostMemory, type KvmErrorCode, type Memfd, type Userfaultfd, type Vm,
} from '@vcpu-rt/core';
import { throwsKvm } from '../vm/_helpers.js';
import { blockOn, Faulter, newUffd, newVm, P, patternPage, sleep } from './_helpers.js';

const MISSING = UFFDIO_REGISTER_MODE_MISSING;
const MINOR = UFFDIO_REGISTER_MODE_MINOR;
const ALL_FEATURES = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_EXACT_ADDRESS;
const bit = (n: number) => 2 ** n;

/** What a row works on: a VM, its host memory and a uffd on which UFFDIO_API was called. */
interface Env {
  t: ExecutionContext;
  vm: Vm;
  host: HostMemory;
  u: Userfaultfd;
  /** An anonymous mapping of `pages` pages. */
  anon(pages: number, populate?: boolean): number;
  /** A memfd of `pages` pages and two mappings of it: `reg` (to register) and `alias`. */
  memfd(pages: number): { fd: Memfd; reg: number; alias: number };
}

function env(t: ExecutionContext): Env {
  const vm = newVm(t);
  const host = vm.host;
  return {
    t, vm, host, u: newUffd(t, host, ALL_FEATURES),
    anon: (pages, populate = false) => host.mmap(pages * P, { populate }),
    memfd: (pages) => {
      const fd = host.memfdCreate(pages * P);
      return { fd, reg: host.mmap(pages * P, { memfd: fd }), alias: host.mmap(pages * P, { memfd: fd }) };
    },
  };
}

/** The failing call of a row, and what to check once it failed. */
interface Case {
  call: () => unknown;
  after?: () => unknown;
}

interface Row {
  rule: string;
  code: KvmErrorCode;
  /** Words of the rule the message must contain. */
  msg: string | RegExp;
  /** Sets up, then returns the failing call; may check more after it failed with `after`. */
  run(e: Env): Case | Promise<Case>;
}

const unapi = (e: Env): Userfaultfd => {
  const u = e.host.userfaultfd();
  e.t.teardown(() => u.close());
  return u;
};

/** Every operation of a uffd, on a one-page anonymous mapping registered when possible. */
const OPS: Array<[string, (u: Userfaultfd, a: number) => unknown]> = [
  ['UFFDIO_REGISTER', (u, a) => u.register(a, P, MISSING)],
  ['UFFDIO_UNREGISTER', (u, a) => u.unregister(a, P)],
  ['read', (u) => u.read()],
  ['poll', (u) => u.wait(0)],
  ['UFFDIO_COPY', (u, a) => u.copy(a, new Uint8Array(P))],
  ['UFFDIO_ZEROPAGE', (u, a) => u.zeropage(a, P)],
  ['UFFDIO_CONTINUE', (u, a) => u.continue(a, P)],
  ['UFFDIO_WAKE', (u, a) => u.wake(a, P)],
];

/**
 * The EEXIST rows: `present` is a present page of a range registered with e.u, `blocked` a page of
 * the same range a worker thread is blocked on. The failed call must not wake anyone: no wake walk
 * runs (wakes.walks and wakes.skipped unchanged, though a waiter is queued so a wake would walk),
 * the worker stays blocked, eexist counts it, and the present page keeps its bytes.
 */
async function eexistRow(e: Env, present: number, blocked: number, call: () => unknown): Promise<Case> {
  const f = await Faulter.start(e.t, e.vm, [{ op: 'read', addr: blocked, len: 1 }]);
  await blockOn(e.u, f, 'the fault');
  const before = e.u.stats();
  const bytes = e.host.read(present, P);
  return {
    call,
    after: async () => {
      const s = e.u.stats();
      e.t.is(s.eexist, before.eexist + 1, 'stats().eexist counts the EEXIST');
      e.t.is(s.wakes.walks, before.wakes.walks, 'no wake walk ran');
      e.t.is(s.wakes.skipped, before.wakes.skipped, 'wake_userfault was not even called');
      e.t.is(s.wakes.woken, 0);
      e.t.deepEqual(e.host.read(present, P), bytes, 'the present page is unchanged');
      await sleep(60);
      e.t.is(f.done, 0, 'the blocked faulter is still blocked');
      e.t.is(e.u.stats().queues.pending, 1);
    },
  };
}

const ROWS: Row[] = [
  // UFFDIO_API comes first, once, with known features.
  ...OPS.map(([name, op]): Row => ({
    rule: `${name} before UFFDIO_API is EINVAL`, code: 'EINVAL', msg: `${name}: UFFDIO_API must come first`,
    run: (e) => { const a = e.anon(1); return { call: () => op(unapi(e), a) }; },
  })),
  {
    rule: 'UFFDIO_API twice is EINVAL', code: 'EINVAL', msg: 'UFFDIO_API: already called',
    run: (e) => ({ call: () => e.u.api(0) }),
  },
  ...[bit(0), bit(1), bit(30), UFFD_API_FEATURES | bit(12), -1, 0.5].map((features): Row => ({
    rule: `UFFDIO_API with unknown feature bits (${features}) is EINVAL, and a valid UFFDIO_API may follow`, code: 'EINVAL',
    msg: 'UFFDIO_API: features',
    run: (e) => {
      const u = unapi(e);
      return {
        call: () => u.api(features),
        after: () => {
          e.t.deepEqual(u.api(UFFD_FEATURE_THREAD_ID), { features: UFFD_API_FEATURES, ioctls: bit(_UFFDIO_REGISTER) + bit(_UFFDIO_UNREGISTER) });
          throwsKvm(e.t, () => u.api(0), 'EINVAL', 'already called');
        },
      };
    },
  })),
  // UFFDIO_REGISTER: an aligned, non-empty, fully mapped range; a known, supported mode.
  {
    rule: 'UFFDIO_REGISTER with an unaligned start is EINVAL', code: 'EINVAL', msg: 'UFFDIO_REGISTER: [0x',
    run: (e) => { const a = e.anon(2); return { call: () => e.u.register(a + 1, P, MISSING) }; },
  },
  {
    rule: 'UFFDIO_REGISTER with an unaligned len is EINVAL', code: 'EINVAL', msg: 'is not page aligned',
    run: (e) => { const a = e.anon(2); return { call: () => e.u.register(a, P + 512, MISSING) }; },
  },
  {
    rule: 'UFFDIO_REGISTER with len 0 is EINVAL', code: 'EINVAL', msg: 'UFFDIO_REGISTER: len must be a positive integer',
    run: (e) => { const a = e.anon(2); return { call: () => e.u.register(a, 0, MISSING) }; },
  },
  {
    rule: 'UFFDIO_REGISTER of a range with a hole in its mappings is EINVAL, and registers nothing', code: 'EINVAL', msg: 'is not mapped',
    run: (e) => {
      const a = e.anon(3);
      e.host.munmap(a + P, P);
      return {
        call: () => e.u.register(a, 3 * P, MISSING),
        after: () => {
          // Nothing was registered: the first page is still ENOENT for COPY.
          throwsKvm(e.t, () => e.u.copy(a, new Uint8Array(P)), 'ENOENT');
        },
      };
    },
  },
  {
    rule: 'UFFDIO_REGISTER of a range running past its mapping is EINVAL', code: 'EINVAL', msg: 'is not mapped',
    run: (e) => {
      const a = e.anon(2);
      e.host.munmap(a + P, P);
      return { call: () => e.u.register(a, 2 * P, MISSING) };
    },
  },
  ...[0, bit(3), bit(3) | MISSING, -1].map((mode): Row => ({
    rule: `UFFDIO_REGISTER with mode ${mode} (empty or unknown bits) is EINVAL`, code: 'EINVAL', msg: 'UFFDIO_REGISTER: mode must be a non-empty set',
    run: (e) => { const a = e.anon(1); return { call: () => e.u.register(a, P, mode) }; },
  })),
  ...[UFFDIO_REGISTER_MODE_WP, UFFDIO_REGISTER_MODE_WP | MISSING].map((mode): Row => ({
    rule: `UFFDIO_REGISTER with WP (mode ${mode}) is EINVAL`, code: 'EINVAL', msg: 'UFFDIO_REGISTER: write-protect mode is not modelled',
    run: (e) => { const a = e.anon(1); return { call: () => e.u.register(a, P, mode) }; },
  })),
  {
    rule: 'UFFDIO_REGISTER MINOR on an anonymous mapping is EINVAL', code: 'EINVAL', msg: 'MINOR mode needs a memfd (shmem) mapping',
    run: (e) => { const a = e.anon(2); return { call: () => e.u.register(a, 2 * P, MINOR | MISSING) }; },
  },
  {
    rule: 'UFFDIO_REGISTER MINOR over a memfd mapping and an anonymous one is EINVAL', code: 'EINVAL', msg: 'is anonymous',
    run: (e) => {
      const { reg } = e.memfd(2);
      const a = e.anon(1, false);
      // mmap places mappings top down: the anonymous one ends where the memfd's alias begins.
      const lo = Math.min(reg, a);
      return { call: () => e.u.register(lo, 4 * P, MINOR) };
    },
  },
  {
    rule: 'UFFDIO_REGISTER of a range already registered with another uffd is EBUSY, and leaves it with the first', code: 'EBUSY',
    msg: 'is registered with another userfaultfd',
    run: (e) => {
      const a = e.anon(4);
      e.u.register(a + P, 2 * P, MISSING);
      const u2 = newUffd(e.t, e.host);
      return {
        call: () => u2.register(a, 2 * P, MISSING),
        after: () => {
          throwsKvm(e.t, () => u2.copy(a + P, new Uint8Array(P)), 'ENOENT');
          e.t.is(e.u.copy(a + P, patternPage(a + P)), P, 'the range still belongs to the first uffd');
          e.t.notThrows(() => e.u.register(a + P, 2 * P, MISSING), 'registering again with the same uffd is fine');
          e.t.notThrows(() => u2.register(a + 3 * P, P, MISSING), 'the other uffd may register the rest');
        },
      };
    },
  },
  // COPY / ZEROPAGE / CONTINUE need a range registered with this uffd.
  ...(['copy', 'zeropage', 'continue'] as const).flatMap((op): Row[] => {
    const name = `UFFDIO_${op.toUpperCase()}`;
    const call = (u: Userfaultfd, a: number) => op === 'copy' ? u.copy(a, new Uint8Array(P)) : u[op](a, P);
    return [
      {
        rule: `${name} on an unregistered range is ENOENT`, code: 'ENOENT', msg: `${name}: 0x`,
        run: (e) => { const { reg } = e.memfd(1); const a = e.anon(1); return { call: () => call(e.u, op === 'continue' ? reg : a) }; },
      },
      {
        rule: `${name} on a range registered with another uffd is ENOENT`, code: 'ENOENT', msg: 'is not in a range registered with this userfaultfd',
        run: (e) => {
          const { reg } = e.memfd(1);
          const u2 = newUffd(e.t, e.host, ALL_FEATURES);
          u2.register(reg, P, MISSING | MINOR);
          return { call: () => call(e.u, reg) };
        },
      },
      {
        rule: `${name} after its range was unregistered is ENOENT`, code: 'ENOENT', msg: 'is not in a range registered with this userfaultfd',
        run: (e) => {
          const { reg } = e.memfd(1);
          const a = e.anon(1);
          e.u.register(a, P, MISSING);
          e.u.register(reg, P, MINOR);
          e.u.unregister(a, P);
          e.u.unregister(reg, P);
          return { call: () => call(e.u, op === 'continue' ? reg : a) };
        },
      },
    ];
  }),
  // ... and a page that is not present: EEXIST, waking nobody.
  {
    rule: 'UFFDIO_COPY on a present page is EEXIST and wakes nobody', code: 'EEXIST', msg: 'is already present (nobody was woken)',
    run: async (e) => {
      const a = e.anon(2);
      e.u.register(a, 2 * P, MISSING);
      e.u.copy(a, patternPage(a), UFFDIO_COPY_MODE_DONTWAKE);
      return eexistRow(e, a, a + P, () => e.u.copy(a, new Uint8Array(P).fill(0xee)));
    },
  },
  {
    rule: 'UFFDIO_COPY on a page present before registration is EEXIST and wakes nobody', code: 'EEXIST', msg: 'is already present',
    run: async (e) => {
      const a = e.anon(2);
      e.host.write(a, patternPage(a));
      e.u.register(a, 2 * P, MISSING);
      return eexistRow(e, a, a + P, () => e.u.copy(a, new Uint8Array(P).fill(0xee)));
    },
  },
  {
    rule: 'UFFDIO_ZEROPAGE on a present page is EEXIST and wakes nobody', code: 'EEXIST', msg: 'UFFDIO_ZEROPAGE: the page at',
    run: async (e) => {
      const a = e.anon(2);
      e.host.write(a, patternPage(a));
      e.u.register(a, 2 * P, MISSING);
      return eexistRow(e, a, a + P, () => e.u.zeropage(a, P));
    },
  },
  {
    rule: 'UFFDIO_CONTINUE on a present page is EEXIST and wakes nobody', code: 'EEXIST', msg: 'UFFDIO_CONTINUE: the page at',
    run: async (e) => {
      const { reg, alias } = e.memfd(2);
      e.host.write(alias, patternPage(reg));
      e.host.write(alias + P, patternPage(reg + P));
      e.host.read(reg, 1); // maps page 0 in `reg`
      e.u.register(reg, 2 * P, MINOR);
      return eexistRow(e, reg, reg + P, () => e.u.continue(reg, P));
    },
  },
  {
    rule: 'UFFDIO_COPY into a memfd page already in the page cache is EEXIST (shmem_mfill_atomic_pte), even with no PTE', code: 'EEXIST',
    msg: 'is already present',
    run: (e) => {
      const { reg, alias } = e.memfd(1);
      e.host.write(alias, patternPage(alias));
      e.u.register(reg, P, MISSING);
      return { call: () => e.u.copy(reg, new Uint8Array(P)), after: () => e.t.deepEqual(e.host.read(reg, P), patternPage(alias)) };
    },
  },
  {
    rule: 'UFFDIO_COPY over two pages whose second is present is EAGAIN after copying (and waking) the first', code: 'EAGAIN',
    msg: '4096 of 8192 bytes done',
    run: (e) => {
      const a = e.anon(2);
      e.host.write(a + P, new Uint8Array([9]));
      e.u.register(a, 2 * P, MISSING);
      const before = e.u.stats();
      const src = new Uint8Array(2 * P);
      src.set(patternPage(a));
      return {
        call: () => e.u.copy(a, src),
        after: () => {
          const s = e.u.stats();
          e.t.deepEqual(e.host.read(a, P), patternPage(a));
          e.t.is(e.host.read(a + P, 1)[0], 9);
          e.t.is(s.copies, before.copies + 1);
          e.t.is(s.eexist, before.eexist + 1);
          e.t.is(s.wakes.walks + s.wakes.skipped, before.wakes.walks + before.wakes.skipped + 1, 'the copied part was woken');
        },
      };
    },
  },
  ...[{ off: 0, len: 2 * P, what: 'shorter than len' }, { off: P, len: P, what: 'ending before srcOffset + len' }, { off: -P, len: P, what: 'with a negative srcOffset' }]
    .map(({ off, len, what }): Row => ({
      rule: `UFFDIO_COPY with a source ${what} is EFAULT and fills no page (a filled page nobody woke would hang its faulter)`, code: 'EFAULT',
      msg: 'UFFDIO_COPY: source [',
      run: (e) => {
        const a = e.anon(2);
        e.u.register(a, 2 * P, MISSING);
        const before = e.u.stats();
        const resident = e.host.residentBytes();
        return {
          call: () => e.u.copy(a, patternPage(a), 0, off, len),
          after: () => {
            e.t.false(e.host.isPresent(a), 'nothing was copied');
            e.t.is(e.host.residentBytes(), resident);
            e.t.deepEqual([e.u.stats().copies, e.u.stats().wakes.walks + e.u.stats().wakes.skipped], [before.copies, before.wakes.walks + before.wakes.skipped]);
          },
        };
      },
    })),
  // CONTINUE maps what the page cache has, in MINOR ranges of memfds; ZEROPAGE is for anonymous memory.
  {
    rule: 'UFFDIO_CONTINUE when the page cache has no page is EFAULT', code: 'EFAULT', msg: 'the page cache has no page',
    run: (e) => {
      const { reg, fd } = e.memfd(2);
      e.u.register(reg, 2 * P, MINOR);
      return { call: () => e.u.continue(reg, P), after: () => e.t.false(e.host.memfdIsCached(fd, 0), 'CONTINUE allocates nothing') };
    },
  },
  {
    rule: 'UFFDIO_CONTINUE on a MISSING-only memfd registration is EINVAL', code: 'EINVAL', msg: 'CONTINUE needs MINOR on a memfd',
    run: (e) => {
      const { reg, alias } = e.memfd(1);
      e.host.write(alias, new Uint8Array([1]));
      e.u.register(reg, P, MISSING);
      return { call: () => e.u.continue(reg, P) };
    },
  },
  {
    rule: 'UFFDIO_CONTINUE on an anonymous registration is EINVAL', code: 'EINVAL', msg: 'CONTINUE needs MINOR on a memfd',
    run: (e) => { const a = e.anon(1); e.u.register(a, P, MISSING); return { call: () => e.u.continue(a, P) }; },
  },
  {
    rule: 'UFFDIO_ZEROPAGE on a memfd mapping is EINVAL', code: 'EINVAL', msg: 'ZEROPAGE needs anonymous memory',
    run: (e) => { const { reg } = e.memfd(1); e.u.register(reg, P, MISSING); return { call: () => e.u.zeropage(reg, P) }; },
  },
  ...(['copy', 'zeropage', 'continue'] as const).map((op): Row => ({
    rule: `UFFDIO_${op.toUpperCase()} with an unknown mode bit is EINVAL`, code: 'EINVAL', msg: 'mode must be 0 or DONTWAKE',
    run: (e) => {
      const a = e.anon(1);
      e.u.register(a, P, MISSING);
      return { call: () => op === 'copy' ? e.u.copy(a, new Uint8Array(P), 2) : e.u[op](a, P, 2) };
    },
  })),
  ...(['copy', 'zeropage', 'continue', 'wake'] as const).map((op): Row => ({
    rule: `UFFDIO_${op.toUpperCase()} of an unaligned range is EINVAL`, code: 'EINVAL', msg: 'is not page aligned',
    run: (e) => {
      const a = e.anon(2);
      e.u.register(a, 2 * P, MISSING);
      return { call: () => op === 'copy' ? e.u.copy(a + 8, new Uint8Array(P)) : e.u[op](a, P + 8) };
    },
  })),
  // read(): never blocks.
  {
    rule: 'read of a non-blocking uffd with nothing pending is EAGAIN', code: 'EAGAIN', msg: 'read: no fault is pending',
    run: (e) => {
      const u = newUffd(e.t, e.host, 0, { nonBlocking: true });
      const a = e.anon(1);
      u.register(a, P, MISSING);
      return { call: () => u.read(4) };
    },
  },
  {
    rule: 'read of a blocking uffd with nothing pending returns [] (it never blocks); read(0) is EINVAL', code: 'EINVAL', msg: 'read: max must be a positive integer',
    run: (e) => {
      const a = e.anon(1);
      e.u.register(a, P, MISSING);
      e.t.deepEqual(e.u.read(), []);
      e.t.deepEqual(e.u.read(16), []);
      e.t.false(e.u.wait(0));
      return { call: () => e.u.read(0) };
    },
  },
  // close.
  ...OPS.map(([name, op]): Row => ({
    rule: `${name} after close is EINVAL`, code: 'EINVAL', msg: `${name}: the userfaultfd is closed`,
    run: (e) => {
      const a = e.anon(1);
      e.u.register(a, P, MISSING);
      e.u.close();
      e.u.close(); // closing twice is a no-op
      return { call: () => op(e.u, a) };
    },
  })),
  {
    rule: 'UFFDIO_API after close is EINVAL', code: 'EINVAL', msg: 'UFFDIO_API: the userfaultfd is closed',
    run: (e) => { const u = unapi(e); u.close(); return { call: () => u.api(0) }; },
  },
  ...OPS.map(([name, op]): Row => ({
    rule: `${name} through a handle attached before close is EINVAL, even once a new uffd reuses the context`, code: 'EINVAL',
    msg: `${name}: the userfaultfd is closed`,
    run: (e) => {
      const a = e.anon(1);
      const b = e.anon(1);
      const u = unapi(e);
      u.api(0);
      const stale = attachUserfaultfd(u.handle(), e.host);
      u.close();
      throwsKvm(e.t, () => op(stale, a), 'EINVAL', 'closed');
      // A new uffd may take the freed context; the stale file must not become it.
      const fresh = newUffd(e.t, e.host);
      fresh.register(b, P, MISSING);
      return {
        call: () => op(stale, b),
        after: () => e.t.is(fresh.stats().copies + fresh.stats().zeropages + fresh.stats().wakes.walks + fresh.stats().wakes.skipped, 0),
      };
    },
  })),
  {
    rule: 'close unregisters the uffd\'s ranges: another uffd may register them', code: 'EBUSY', msg: 'is registered with another userfaultfd',
    run: (e) => {
      const a = e.anon(2);
      e.u.register(a, 2 * P, MISSING);
      const u2 = newUffd(e.t, e.host);
      return {
        call: () => u2.register(a, P, MISSING),
        after: () => {
          e.u.close();
          e.t.notThrows(() => u2.register(a, 2 * P, MISSING));
          e.t.is(u2.zeropage(a, 2 * P), 2 * P);
        },
      };
    },
  },
  // UFFDIO_UNREGISTER.
  {
    rule: 'UFFDIO_UNREGISTER of a range with a hole is EINVAL', code: 'EINVAL', msg: 'UFFDIO_UNREGISTER: [0x',
    run: (e) => {
      const a = e.anon(3);
      e.u.register(a, 3 * P, MISSING);
      e.host.munmap(a + P, P);
      return {
        call: () => e.u.unregister(a, 3 * P),
        after: () => e.t.is(e.u.zeropage(a, P), P, 'the first page is still registered'),
      };
    },
  },
  {
    rule: 'UFFDIO_UNREGISTER of an unmapped range is EINVAL', code: 'EINVAL', msg: 'is not mapped',
    run: (e) => { const a = e.anon(1); e.host.munmap(a, P); return { call: () => e.u.unregister(a, P) }; },
  },
  {
    rule: 'UFFDIO_UNREGISTER of a range registered with another uffd is EINVAL', code: 'EINVAL', msg: 'is registered with another userfaultfd',
    run: (e) => {
      const a = e.anon(1);
      const u2 = newUffd(e.t, e.host);
      u2.register(a, P, MISSING);
      return { call: () => e.u.unregister(a, P), after: () => e.t.is(u2.zeropage(a, P), P) };
    },
  },
  {
    rule: 'UFFDIO_UNREGISTER with len 0 is EINVAL', code: 'EINVAL', msg: 'UFFDIO_UNREGISTER: len must be a positive integer',
    run: (e) => { const a = e.anon(1); e.u.register(a, P, MISSING); return { call: () => e.u.unregister(a, 0) }; },
  },
];

for (const row of ROWS) {
  test(`${row.rule} (${row.code})`, async (t) => {
    const e = env(t);
    const { call, after } = await row.run(e);
    throwsKvm(t, call, row.code, row.msg);
    await after?.();
  });
}

test('the rule names are unique', (t) => {
  t.is(new Set(ROWS.map((r) => r.rule)).size, ROWS.length);
});

test('UFFDIO_API answers the features and ioctls; UFFDIO_REGISTER the range ioctls of what it registered', (t) => {
  const vm = newVm(t);
  const h = vm.host;
  const u = h.userfaultfd();
  t.teardown(() => u.close());
  t.deepEqual(u.api(UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS), { features: UFFD_API_FEATURES, ioctls: bit(_UFFDIO_REGISTER) + bit(_UFFDIO_UNREGISTER) });
  t.is(UFFD_API_FEATURES, ALL_FEATURES);
  const anonIoctls = bit(_UFFDIO_WAKE) + bit(_UFFDIO_COPY) + bit(_UFFDIO_ZEROPAGE);
  t.deepEqual(u.register(h.mmap(P), P, MISSING), { ioctls: anonIoctls });
  const fd = h.memfdCreate(3 * P);
  const m = h.mmap(3 * P, { memfd: fd });
  // shmem: no ZEROPAGE in this model; CONTINUE only where MINOR is registered (the kernel masks it otherwise).
  t.deepEqual(u.register(m, P, MINOR), { ioctls: bit(_UFFDIO_WAKE) + bit(_UFFDIO_COPY) + bit(_UFFDIO_CONTINUE) });
  t.deepEqual(u.register(m + P, P, MINOR | MISSING), { ioctls: bit(_UFFDIO_WAKE) + bit(_UFFDIO_COPY) + bit(_UFFDIO_CONTINUE) });
  t.deepEqual(u.register(m + 2 * P, P, MISSING), { ioctls: bit(_UFFDIO_WAKE) + bit(_UFFDIO_COPY) });
});
