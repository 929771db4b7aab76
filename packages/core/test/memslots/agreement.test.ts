/**
 * The tree and array designs are two implementations of one semantics: on random operation
 * sequences they must accept and reject the same calls and answer every lookup the same way.
 */
import test from 'ava';
import fc from 'fast-check';
import { Kvm, KvmError, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, type MemslotInfo, type Vm } from '@vcpu-rt/core';

const HVA_BASE = 0x7000_0000_0000;
const GFNS = 300;

interface Op { asId: number; id: number; gfn: number; npages: number; hvaPage: number; flags: number }

const opArb = (nrAs: number): fc.Arbitrary<Op> => fc.record({
  asId: fc.integer({ min: 0, max: nrAs - 1 }),
  id: fc.integer({ min: 0, max: 11 }),
  gfn: fc.integer({ min: 0, max: 255 }),
  npages: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 })),
  hvaPage: fc.integer({ min: 0, max: 63 }),
  flags: fc.constantFrom(0, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY),
});

function apply(vm: Vm, op: Op): string {
  try {
    return vm.setUserMemoryRegion({
      slot: (op.asId << 16) | op.id, flags: op.flags, guestPhysAddr: op.gfn * 4096,
      memorySize: op.npages * 4096, userspaceAddr: HVA_BASE + op.hvaPage * 4096,
    });
  } catch (e) {
    if (e instanceof KvmError) return e.code;
    throw e;
  }
}

const byKey = (a: MemslotInfo, b: MemslotInfo) => a.asId - b.asId || a.id - b.id;

function compare(tree: Vm, array: Vm, nrAs: number, hvaProbe: [number, number]): string | undefined {
  for (let as = 0; as < nrAs; as++) {
    const ts = JSON.stringify(tree.memslots(as));
    if (ts !== JSON.stringify(array.memslots(as))) return `memslots(${as}) differ: ${ts} vs ${JSON.stringify(array.memslots(as))}`;
    if (tree.memslotGeneration(as) !== array.memslotGeneration(as)) return `generation(${as}) differs`;
    for (let gfn = 0; gfn < GFNS; gfn++) {
      const a = tree.gfnToMemslot(gfn, as);
      const b = array.gfnToMemslot(gfn, as);
      if (JSON.stringify(a) !== JSON.stringify(b)) return `gfnToMemslot(${gfn}, ${as}): ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
      if (a && !(gfn >= a.baseGfn && gfn < a.baseGfn + a.npages)) return `gfnToMemslot(${gfn}) returned a slot not containing it`;
    }
    const list = tree.memslots(as);
    for (let i = 1; i < list.length; i++) {
      if (list[i - 1].baseGfn + list[i - 1].npages > list[i].baseGfn) return `slots ${list[i - 1].id} and ${list[i].id} overlap`;
    }
  }
  const [s, l] = hvaProbe;
  const th = tree.memslotsInHvaRange(s, l).sort(byKey);
  const ah = array.memslotsInHvaRange(s, l).sort(byKey);
  if (JSON.stringify(th) !== JSON.stringify(ah)) return `memslotsInHvaRange(${s.toString(16)}, ${l.toString(16)}) differ`;
  const expected = [...Array(nrAs).keys()].flatMap((as) => tree.memslots(as))
    .filter((m) => m.userspaceAddr <= l && m.userspaceAddr + m.npages * 4096 - 1 >= s).sort(byKey);
  if (JSON.stringify(th) !== JSON.stringify(expected)) return 'memslotsInHvaRange misses or invents a slot';
  return undefined;
}

for (const nrAs of [1, 2] as const) {
  test(`tree and array agree on random create/delete/move/flags sequences (${nrAs} address space${nrAs > 1 ? 's' : ''})`, async (t) => {
    const kvm = new Kvm();
    const hvaProbe = fc.tuple(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 16 }))
      .map(([p, len]): [number, number] => [HVA_BASE + p * 4096 + (p % 3) * 100, HVA_BASE + (p + len) * 4096 + 4095]);
    let runs = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(opArb(nrAs), hvaProbe), { minLength: 1, maxLength: 60 }), async (steps) => {
      const tree = kvm.createVm({ memslots: 'tree', addressSpaces: nrAs, hostMemoryBytes: 1 << 20 });
      const array = kvm.createVm({ memslots: 'array', addressSpaces: nrAs, hostMemoryBytes: 1 << 20 });
      try {
        for (const [op, probe] of steps) {
          const a = apply(tree, op);
          const b = apply(array, op);
          if (a !== b) throw new Error(`${JSON.stringify(op)}: tree ${a}, array ${b}`);
          const diff = compare(tree, array, nrAs, probe);
          if (diff) throw new Error(`after ${JSON.stringify(op)} (${a}): ${diff}`);
        }
      } finally {
        await tree.close();
        await array.close();
      }
      runs++;
    }), { numRuns: 150 });
    t.is(runs, 150);
  });
}
