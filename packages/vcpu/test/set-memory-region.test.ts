/**
 * Ports of set_memory_region_test.c's test_move_memory_region and test_delete_memory_region
 * (reference §2): a vCPU spins reading the u64 at MEM_REGION_GPA (slot 10, 2 MiB) while the host
 * moves the slot by -4096 and back, or deletes and recreates it. The guest must see the old value or
 * MMIO_VAL (0xbeef, which the VMM puts into mmio.data), never a stale mapping; MMIO exits must be
 * 8-byte reads at MEM_REGION_GPA that happen only inside a DELETE/MOVE window or after the delete.
 *
 * The kernel test's vcpu_worker thread is played either by an async loop on the main thread around
 * Vcpu.run() (the host's ioctls then run between its awaits), or by an in-thread VMM handler that
 * completes the MMIO reads in the vCPU's own thread (then nothing the host does waits for it).
 */
import test, { type ExecutionContext } from 'ava';
import { KVM_EXIT_IO, KVM_EXIT_MMIO, type Vm } from '@vcpu-rt/core';
import type { KvmExit, Vcpu } from '@vcpu-rt/vcpu';
import {
  BAD_MMIO, CTL_WORDS, EPOCH, MEM_REGION_GPA, MEM_REGION_SIZE, MEM_REGION_SLOT, MMIO_EXITS, MMIO_VAL, OUT_OF_WINDOW, READS, STOP,
  checkMmio,
} from './fixtures/set-memory-region.js';
import { addSlot, completeMmioRead, deleteSlot, describe, fixture, le64, moveSlot, newVm, spawn, until, within } from './_helpers.js';

const LOOPS = 4;
const FIX = 'set-memory-region';

type Mode = 'main-thread' | 'in-thread handler';

/** The vCPU side of the test: vcpu_worker plus the sem_post/sem_timedwait pair. */
class VcpuWorker {
  readonly ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  readonly syncs: bigint[] = [];
  private waiting: (() => void) | undefined;
  private pendingSyncs = 0;
  done!: Promise<KvmExit>;
  finished = false;

  constructor(readonly t: ExecutionContext, readonly vm: Vm) {}

  async spawn(guestExport: string, mode: Mode): Promise<Vcpu> {
    const args = { ctl: this.ctl.buffer };
    const vcpu = await spawn(this.t, this.vm, 0, { guest: fixture(FIX, guestExport), args },
      mode === 'in-thread handler' ? { vmm: [{ handler: fixture(FIX, 'mmioValHandler'), args }] } : {});
    this.done = this.loop(vcpu);
    this.done.then(() => { this.finished = true; }, () => { this.finished = true; });
    await this.waitForVcpu();
    return vcpu;
  }

  /** Re-enter the guest on every sync and MMIO exit; return the first other exit. */
  private async loop(vcpu: Vcpu): Promise<KvmExit> {
    for (;;) {
      const exit = await vcpu.run();
      if (exit.reason === KVM_EXIT_IO) {
        if (exit.ucall.cmd !== 'sync') return exit;
        this.syncs.push(BigInt(exit.ucall.values[0]));
        this.pendingSyncs++;
        this.waiting?.();
        continue;
      }
      if (exit.reason !== KVM_EXIT_MMIO || !checkMmio(this.ctl, exit)) return exit;
      completeMmioRead(exit.mmio.data, MMIO_VAL);
    }
  }

  /** wait_for_vcpu: the next GUEST_SYNC, then let the guest spin a while (reads, not a sleep). */
  async waitForVcpu(): Promise<void> {
    await within(new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.pendingSyncs > 0) {
          this.pendingSyncs--;
          this.waiting = undefined;
          resolve();
        }
      };
      this.waiting = check;
      check();
    }), 10_000, 'the vCPU to sync');
    const reads = Atomics.load(this.ctl, READS);
    await until(() => this.finished || Atomics.load(this.ctl, READS) >= reads + 200, 10_000, 'the guest to spin');
  }

  /** A window in which the slot may be unusable (epoch odd). */
  open(): void {
    Atomics.add(this.ctl, EPOCH, 1);
  }

  close(): void {
    Atomics.add(this.ctl, EPOCH, 1);
  }

  checkMmioExits(): void {
    const t = this.t;
    t.is(Atomics.load(this.ctl, BAD_MMIO), 0, 'MMIO exits are 8-byte reads at MEM_REGION_GPA');
    t.is(Atomics.load(this.ctl, OUT_OF_WINDOW), 0, 'MMIO exits happen only in a DELETE/MOVE window or after the delete');
  }
}

function spawnVm(t: ExecutionContext, memslots: 'tree' | 'array'): { vm: Vm; hva: number } {
  const vm = newVm(t, { memslots });
  // A code/data slot 0 as the selftest VM has, and slot 10; the first two pages zeroed (fresh anonymous memory is).
  addSlot(vm, { slot: 0, gpa: 0, size: 0x100000 });
  const hva = addSlot(vm, { slot: MEM_REGION_SLOT, gpa: MEM_REGION_GPA, size: MEM_REGION_SIZE });
  vm.host.write(hva, new Uint8Array(2 * 4096));
  return { vm, hva };
}

for (const mode of ['main-thread', 'in-thread handler'] as const) {
  for (const memslots of ['tree', 'array'] as const) {
    test(`set_memory_region_test test_move_memory_region (${mode}, ${memslots} memslots, ${LOOPS} loops)`, async (t) => {
      for (let loop = 0; loop < LOOPS; loop++) {
        const { vm, hva } = spawnVm(t, memslots);
        const w = new VcpuWorker(t, vm);
        await w.spawn('guestCodeMoveMemoryRegion', mode);

        // Shift the base GPA: the guest must not see "2", as the hva->gpa translation is misaligned
        // and MEM_REGION_GPA now lies on the slot's second host page.
        w.open();
        moveSlot(vm, MEM_REGION_SLOT, MEM_REGION_GPA - 4096);
        w.close();
        vm.host.write(hva, le64(2n));
        t.is(vm.gfnToMemslot(MEM_REGION_GPA / 4096)?.baseGfn, (MEM_REGION_GPA - 4096) / 4096);
        // The guest might have seen the INVALID slot; let it spin on the misaligned mapping.
        const reads = Atomics.load(w.ctl, READS);
        await until(() => w.finished || Atomics.load(w.ctl, READS) >= reads + 2000, 10_000, 'the guest to spin on the moved slot');
        // The value must change before the slot is restored, else the guest could see "2".
        vm.host.write(hva, le64(1n));
        w.open();
        moveSlot(vm, MEM_REGION_SLOT, MEM_REGION_GPA);
        w.close();
        await w.waitForVcpu();
        await w.waitForVcpu(); // the deferred sync from when the slot was misaligned

        const exit = await within(w.done, 10_000, 'the guest to finish');
        t.is(exit.reason, KVM_EXIT_IO, describe(exit));
        if (exit.reason === KVM_EXIT_IO) t.is(exit.ucall.cmd, 'done', `guest: ${describe(exit)} (syncs ${w.syncs.join(', ')})`);
        // Every value the guest synced on: 0 (the start, and the misaligned page), 1 or MMIO_VAL; never 2.
        t.true(w.syncs.every((v) => v === 0n || v === 1n || v === MMIO_VAL), `syncs: ${w.syncs.join(', ')}`);
        t.is(w.syncs.length, 5, 'GUEST_SYNC(0) and one sync per spin');
        w.checkMmioExits();
        if (t.passed === false) return;
      }
    });

    test(`set_memory_region_test test_delete_memory_region (${mode}, ${memslots} memslots, ${LOOPS} loops)`, async (t) => {
      for (let loop = 0; loop < LOOPS; loop++) {
        const { vm, hva } = spawnVm(t, memslots);
        const w = new VcpuWorker(t, vm);
        await w.spawn('guestCodeDeleteMemoryRegion', mode);

        // Delete the region: the guest must not die, and sees MMIO_VAL. The old host page then gets a
        // value a stale mapping would show.
        w.open();
        deleteSlot(vm, MEM_REGION_SLOT);
        vm.host.write(hva, le64(0x5a5a5a5an));
        t.is(vm.gfnToMemslot(MEM_REGION_GPA / 4096), undefined);
        await w.waitForVcpu();
        const exitsAfterDelete = Atomics.load(w.ctl, MMIO_EXITS);
        t.true(exitsAfterDelete > 0, 'the deleted slot reads through MMIO exits');

        // Recreate it over fresh memory: the guest sees 0.
        addSlot(vm, { slot: MEM_REGION_SLOT, gpa: MEM_REGION_GPA, size: MEM_REGION_SIZE });
        w.close();
        await w.waitForVcpu();

        // Delete it again.
        w.open();
        deleteSlot(vm, MEM_REGION_SLOT);
        await w.waitForVcpu();

        // The kernel test now deletes slot 0 and expects SHUTDOWN or INTERNAL_ERROR; this guest has
        // no code slot, so it is told to stop spinning instead.
        Atomics.store(w.ctl, STOP, 1);
        const exit = await within(w.done, 10_000, 'the guest to finish');
        t.is(exit.reason, KVM_EXIT_IO, describe(exit));
        if (exit.reason === KVM_EXIT_IO) t.is(exit.ucall.cmd, 'done', `guest: ${describe(exit)} (syncs ${w.syncs.join(', ')})`);
        t.deepEqual(w.syncs.slice(0, 4), [0n, MMIO_VAL, 0n, MMIO_VAL], 'GUEST_SYNC(0), then MMIO_VAL, 0 (recreated) and MMIO_VAL');
        w.checkMmioExits();
        if (t.passed === false) return;
      }
    });
  }
}
