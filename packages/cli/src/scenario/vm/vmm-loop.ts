/**
 * The VMM's loop for one vCPU, on the main thread through KVM_RUN (`Vcpu.run()`): it answers every
 * exit the way a minimal VMM does and counts them. No in-thread handlers: every exit is seen here,
 * which is what makes "exits by reason" complete.
 */
import {
  KVM_EXIT_HLT, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN, KvmError, PAGE_SIZE, type Vm,
} from '@vcpu-rt/core';
import type { CpuStats, Vcpu } from '@vcpu-rt/vcpu';
import type { PlannedVcpu } from './guests.js';

/** Why a vCPU's loop failed, for the step to report at the vCPU's entry. */
export class VcpuFailure extends Error {
  constructor(readonly plan: PlannedVcpu, message: string) {
    super(`vCPU ${plan.id}: ${message}`);
    this.name = 'VcpuFailure';
  }
}

/** One vCPU and what its VMM loop saw. */
export class VcpuRunner {
  readonly exits: Record<string, number> = {};
  /** Guest accesses reported by memstress syncs so far. */
  accesses = 0;
  /** Accesses per interval, by the interval in which their sync arrived. */
  readonly buckets: number[] = [];
  finished = false;
  values: (number | bigint)[] = [];
  /** Counters at the last sample, for per-interval deltas. */
  last: CpuStats;

  constructor(readonly plan: PlannedVcpu, readonly vcpu: Vcpu, private readonly vm: Vm) {
    this.last = vcpu.stats();
  }

  private count(kind: string): void {
    this.exits[kind] = (this.exits[kind] ?? 0) + 1;
  }

  private account(total: number, t0: number, interval: number): void {
    const k = Math.floor((performance.now() - t0) / 1000 / interval);
    this.buckets[k] = (this.buckets[k] ?? 0) + (total - this.accesses);
    this.accesses = total;
  }

  /**
   * Runs the vCPU until its guest ends or `stopping()` says the step is over. MMIO reads of
   * addresses no slot or device claims read all ones (a floating bus, as a PCI master abort), MMIO
   * writes are dropped, memory faults are resolved by populating the page (MADV_POPULATE_WRITE).
   */
  async loop(t0: number, interval: number, stopping: () => boolean): Promise<void> {
    for (;;) {
      let exit;
      try {
        exit = await this.vcpu.run();
      } catch (e) {
        if (stopping()) return;
        throw new VcpuFailure(this.plan, e instanceof KvmError ? `KVM_RUN failed: ${e.code}: ${e.message}` : `${(e as Error).name}: ${(e as Error).message}`);
      }
      if (stopping()) return;
      switch (exit.reason) {
        case KVM_EXIT_IO: {
          const { cmd, values } = exit.ucall;
          this.count(`io-${cmd}`);
          this.values = values;
          if (cmd === 'assert') throw new VcpuFailure(this.plan, `the guest asserted (values ${values.map(String).join(', ')})`);
          if (this.plan.countsAccesses) this.account(Number(cmd === 'sync' ? values[1] : values[0]), t0, interval);
          if (cmd === 'done') {
            this.finished = true;
            return;
          }
          break;
        }
        case KVM_EXIT_MMIO:
          this.count(exit.mmio.isWrite ? 'mmio-write' : 'mmio-read');
          if (!exit.mmio.isWrite) exit.mmio.data.fill(0xff);
          break;
        case KVM_EXIT_MEMORY_FAULT: {
          this.count('memory-fault');
          const gfn = Math.floor(exit.memoryFault.gpa / PAGE_SIZE);
          const slot = this.vm.gfnToMemslot(gfn);
          if (!slot) throw new VcpuFailure(this.plan, `memory fault at gpa 0x${exit.memoryFault.gpa.toString(16)}, which no memslot of address space 0 holds`);
          this.vm.host.madvise(slot.userspaceAddr + (gfn - slot.baseGfn) * PAGE_SIZE, PAGE_SIZE, 'populate_write');
          break;
        }
        case KVM_EXIT_HLT:
        case KVM_EXIT_SHUTDOWN:
        case KVM_EXIT_INTERNAL_ERROR:
          this.count(exit.reason === KVM_EXIT_HLT ? 'hlt' : exit.reason === KVM_EXIT_SHUTDOWN ? 'shutdown' : 'internal-error');
          this.finished = true;
          return;
        default:
          this.count(`reason-${(exit as { reason: number }).reason}`);
      }
    }
  }
}
