/**
 * kvm_memslots.generation (reference §3, docs/api.md): each address space starts at its index, every
 * swap adds the address-space count, CREATE and FLAGS_ONLY swap once, DELETE and MOVE twice, a no-op
 * swaps never, and bit 63 (KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS) is clear whenever no call is running.
 */
import test from 'ava';
import {
  KVM_MEM_ABSENT_MAPPING_FAULT, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS, PAGE_SIZE,
  type MrChange, type UserspaceMemoryRegion, type Vm,
} from '@vcpu-rt/core';
import { IMPLS, newVm, prng, region, snapshot, throwsKvm } from './_helpers.js';

const P = PAGE_SIZE;
const UA = 0x4000_0000;

function gens(vm: Vm): bigint[] {
  return Array.from({ length: vm.addressSpaces }, (_, as) => vm.memslotGeneration(as));
}

function assertBit63Clear(t: { is: (a: bigint, b: bigint, m?: string) => void }, vm: Vm, when: string): void {
  for (const [as, g] of gens(vm).entries()) t.is(g & KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS, 0n, `bit 63 of AS ${as} set ${when}`);
}

interface Step {
  name: string;
  region: (slot: number) => UserspaceMemoryRegion;
  change: MrChange | 'none';
  /** Swaps: the generation grows by swaps * nrAs. */
  swaps: number;
}

const base = (slot: number, extra: Partial<UserspaceMemoryRegion> = {}) =>
  region({ slot, guestPhysAddr: 0x100000, memorySize: 16 * P, userspaceAddr: UA, ...extra });

const STEPS: Step[] = [
  { name: 'CREATE', region: (s) => base(s), change: 'create', swaps: 1 },
  { name: 'the same region again (no-op)', region: (s) => base(s), change: 'none', swaps: 0 },
  { name: 'FLAGS_ONLY: LOG_DIRTY_PAGES on', region: (s) => base(s, { flags: KVM_MEM_LOG_DIRTY_PAGES }), change: 'flags_only', swaps: 1 },
  { name: 'FLAGS_ONLY: ABSENT_MAPPING_FAULT on', region: (s) => base(s, { flags: KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_ABSENT_MAPPING_FAULT }), change: 'flags_only', swaps: 1 },
  { name: 'FLAGS_ONLY: both off', region: (s) => base(s), change: 'flags_only', swaps: 1 },
  { name: 'MOVE', region: (s) => base(s, { guestPhysAddr: 0x800000 }), change: 'move', swaps: 2 },
  { name: 'no-op at the new place', region: (s) => base(s, { guestPhysAddr: 0x800000 }), change: 'none', swaps: 0 },
  { name: 'MOVE overlapping its old range', region: (s) => base(s, { guestPhysAddr: 0x808000 }), change: 'move', swaps: 2 },
  { name: 'MOVE with a flag change', region: (s) => base(s, { flags: KVM_MEM_LOG_DIRTY_PAGES }), change: 'move', swaps: 2 },
  { name: 'DELETE', region: (s) => base(s, { memorySize: 0 }), change: 'delete', swaps: 2 },
  { name: 'CREATE READONLY', region: (s) => base(s, { flags: KVM_MEM_READONLY }), change: 'create', swaps: 1 },
  { name: 'DELETE with other gpa/uaddr', region: (s) => base(s, { memorySize: 0, guestPhysAddr: 0, userspaceAddr: 0 }), change: 'delete', swaps: 2 },
];

for (const impl of IMPLS) {
  test(`${impl}: a 1-AS VM starts at generation 0`, (t) => {
    const vm = newVm(t, { memslots: impl });
    t.deepEqual(gens(vm), [0n]);
  });

  test(`${impl}: a 2-AS VM starts AS 0 at generation 0 and AS 1 at generation 1`, (t) => {
    const vm = newVm(t, { memslots: impl, addressSpaces: 2 });
    t.deepEqual(gens(vm), [0n, 1n]);
  });

  for (const nrAs of [1, 2] as const) {
    for (let as = 0; as < nrAs; as++) {
      test(`${impl}: ${nrAs}-AS VM, changes in AS ${as}: CREATE/FLAGS_ONLY add ${nrAs}, MOVE/DELETE add ${2 * nrAs}, no-op adds 0; other AS untouched`, (t) => {
        const vm = newVm(t, { memslots: impl, addressSpaces: nrAs });
        // A bystander slot in every address space, so the other AS is not trivially empty.
        for (let a = 0; a < nrAs; a++) vm.setUserMemoryRegion(region({ slot: (a << 16) | 7, guestPhysAddr: 0x4000000, memorySize: P, userspaceAddr: UA }));
        const slot = (as << 16) | 3;
        for (const step of STEPS) {
          const before = gens(vm);
          const beforeSlots = snapshot(vm).slots;
          t.is(vm.setUserMemoryRegion(step.region(slot)), step.change, `${step.name}: change kind`);
          const after = gens(vm);
          for (let a = 0; a < nrAs; a++) {
            const want = a === as ? before[a] + BigInt(step.swaps * nrAs) : before[a];
            t.is(after[a], want, `${step.name}: generation of AS ${a}`);
            if (a !== as) t.deepEqual(vm.memslots(a), beforeSlots[a], `${step.name}: slots of AS ${a}`);
            t.is(after[a] % BigInt(nrAs), BigInt(a), `${step.name}: AS ${a} stays in its residue class`);
          }
          assertBit63Clear(t, vm, `after ${step.name}`);
        }
      });
    }
  }

  test(`${impl}: memslotGeneration and memslots of an address space the VM lacks are EINVAL`, (t) => {
    const one = newVm(t, { memslots: impl });
    throwsKvm(t, () => one.memslotGeneration(1), 'EINVAL', 'asId');
    throwsKvm(t, () => one.memslots(1), 'EINVAL', 'asId');
    const two = newVm(t, { memslots: impl, addressSpaces: 2 });
    throwsKvm(t, () => two.memslotGeneration(2), 'EINVAL', 'asId');
    throwsKvm(t, () => two.memslotGeneration(-1), 'EINVAL', 'asId');
    throwsKvm(t, () => two.memslots(0.5), 'EINVAL', 'asId');
  });

  test(`${impl}: setUserMemoryRegion returns the change kind`, (t) => {
    const vm = newVm(t, { memslots: impl });
    const r = base(1);
    t.is(vm.setUserMemoryRegion(r), 'create');
    t.is(vm.setUserMemoryRegion(r), 'none');
    t.is(vm.setUserMemoryRegion({ ...r, flags: KVM_MEM_LOG_DIRTY_PAGES }), 'flags_only');
    t.is(vm.setUserMemoryRegion({ ...r, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: 0x200000 }), 'move');
    t.is(vm.setUserMemoryRegion({ ...r, memorySize: 0 }), 'delete');
  });

  test(`${impl}: a no-op call changes nothing at all`, (t) => {
    const vm = newVm(t, { memslots: impl, addressSpaces: 2 });
    vm.setUserMemoryRegion(base(1, { flags: KVM_MEM_LOG_DIRTY_PAGES }));
    vm.setUserMemoryRegion(base((1 << 16) | 1));
    const before = snapshot(vm);
    const bytes = vm.memslotBytes();
    const dirtyLogging = vm.nrMemslotsDirtyLogging;
    const pages = vm.nrMemslotPages;
    t.is(vm.setUserMemoryRegion(base(1, { flags: KVM_MEM_LOG_DIRTY_PAGES })), 'none');
    t.is(vm.setUserMemoryRegion({ ...base((1 << 16) | 1), guestPhysAddr: 0x100000n, memorySize: BigInt(16 * P) }), 'none');
    t.deepEqual(snapshot(vm), before);
    t.is(vm.memslotBytes(), bytes);
    t.is(vm.nrMemslotsDirtyLogging, dirtyLogging);
    t.is(vm.nrMemslotPages, pages);
  });

  test(`${impl}: rejected calls change no generation and leave bit 63 clear`, (t) => {
    const vm = newVm(t, { memslots: impl, addressSpaces: 2 });
    vm.setUserMemoryRegion(base(1));
    vm.setUserMemoryRegion(base(2, { guestPhysAddr: 0x200000 }));
    const before = snapshot(vm);
    const bad: UserspaceMemoryRegion[] = [
      base(1, { memorySize: 32 * P }), // resize
      base(2, { guestPhysAddr: 0x100000 }), // MOVE overlap: EEXIST
      base(5), // CREATE overlap: EEXIST
      base(9, { memorySize: 0 }), // delete of nothing
      base(1, { flags: KVM_MEM_READONLY }), // READONLY toggle
      base(5, { guestPhysAddr: 2 ** 46 }), // CREATE past kvm_mmu_max_gfn
    ];
    for (const r of bad) {
      t.throws(() => vm.setUserMemoryRegion(r));
      t.deepEqual(snapshot(vm), before);
      assertBit63Clear(t, vm, 'after a rejected call');
    }
  });

  test(`${impl}: a MOVE that arch prepare rejects (past kvm_mmu_max_gfn) re-activates the old slot: two swaps, slots unchanged`, (t) => {
    // kvm_set_memslot: DELETE/MOVE publish the INVALID slot first; when kvm_prepare_memory_region then
    // fails, kvm_activate_memslot(invalid, old) swaps once more to put the old slot back.
    for (const nrAs of [1, 2] as const) {
      const vm = newVm(t, { memslots: impl, addressSpaces: nrAs });
      const hva = vm.host.mmap(16 * P);
      vm.setUserMemoryRegion(base(1, { flags: KVM_MEM_LOG_DIRTY_PAGES, userspaceAddr: hva }));
      vm.writeGuest(0x100000, new Uint8Array([1]));
      const before = snapshot(vm);
      throwsKvm(t, () => vm.setUserMemoryRegion(base(1, { flags: KVM_MEM_LOG_DIRTY_PAGES, userspaceAddr: hva, guestPhysAddr: 2 ** 46 - 8 * P })), 'EINVAL', 'kvm_mmu_max_gfn');
      const after = snapshot(vm);
      t.deepEqual(after.slots, before.slots, 'the old slot is active again, unchanged');
      t.is(after.generations[0], before.generations[0] + BigInt(2 * nrAs), 'invalidate + re-activate = two swaps');
      if (nrAs === 2) t.is(after.generations[1], before.generations[1]);
      assertBit63Clear(t, vm, 'after the failed MOVE');
      // The slot still works, and its dirty bitmap survived.
      t.deepEqual(vm.gfnToMemslot(0x100), vm.memslots()[0]);
      t.is(vm.getDirtyLog(1)[0], 1);
    }
  });

  test(`${impl}: 2-AS VM: 300 random calls, each AS counts only its own swaps (AS 0 even, AS 1 odd), change kinds as a reference model predicts`, (t) => {
    const vm = newVm(t, { memslots: impl, addressSpaces: 2 });
    const rnd = prng(0x5eed);
    // Reference model: per AS, id -> { gfn, flags }; every slot is 16 pages at one of 8 places 16 pages apart... or 8 apart (overlaps).
    const model: Array<Map<number, { gfn: number; flags: number }>> = [new Map(), new Map()];
    const expectGen = [0n, 1n];
    for (let i = 0; i < 300; i++) {
      const as = rnd() < 0.5 ? 0 : 1;
      const id = Math.floor(rnd() * 4);
      const m = model[as];
      const old = m.get(id);
      const r = rnd();
      let req: { gfn: number; flags: number } | null;
      if (r < 0.2) req = null; // delete
      else if (r < 0.4 && old) req = { gfn: old.gfn, flags: old.flags ^ KVM_MEM_LOG_DIRTY_PAGES };
      else req = { gfn: 0x100 + 8 * Math.floor(rnd() * 12), flags: old ? old.flags : 0 };
      let want: MrChange | 'none' | 'EINVAL' | 'EEXIST';
      if (req === null) want = old ? 'delete' : 'EINVAL';
      else {
        const overlaps = [...m].some(([oid, s]) => oid !== id && s.gfn < req!.gfn + 16 && req!.gfn < s.gfn + 16);
        if (!old) want = overlaps ? 'EEXIST' : 'create';
        else if (old.gfn !== req.gfn) want = overlaps ? 'EEXIST' : 'move';
        else want = old.flags !== req.flags ? 'flags_only' : 'none';
      }
      const call = region({
        slot: (as << 16) | id,
        flags: req ? req.flags : 0,
        guestPhysAddr: req ? req.gfn * P : 0,
        memorySize: req ? 16 * P : 0,
        userspaceAddr: UA,
      });
      let got: string;
      try {
        got = vm.setUserMemoryRegion(call);
      } catch (e) {
        got = (e as { code: string }).code;
      }
      t.is(got, want, `call ${i}: ${JSON.stringify({ as, id, req, old })}`);
      if (got === 'create') m.set(id, req!);
      if (got === 'move' || got === 'flags_only') m.set(id, req!);
      if (got === 'delete') m.delete(id);
      const swaps = got === 'create' || got === 'flags_only' ? 1 : got === 'move' || got === 'delete' ? 2 : 0;
      expectGen[as] += BigInt(2 * swaps);
      t.deepEqual(gens(vm), expectGen, `call ${i}: generations`);
      assertBit63Clear(t, vm, `after call ${i}`);
      t.deepEqual(vm.memslots(as).map((s) => [s.id, s.baseGfn, s.flags]),
        [...m].map(([mid, s]) => [mid, s.gfn, s.flags]).sort((a, b) => a[1] - b[1]), `call ${i}: slots of AS ${as}`);
    }
  });
}
