/** KVM_CREATE_VCPU and KVM_RUN from the VMM's side: a worker thread per vCPU. */
import { Worker } from 'node:worker_threads';
import { ERRNO, KVM_MAX_VCPUS, KvmError, type KvmErrorCode, type Vm } from '@vcpu-rt/core';
import { Comlink, nodeEndpoint } from './comlink-node.js';
import { readCpuStats, type CpuStats } from './cpu.js';
import type { GuestSpec } from './guest.js';
import { HandoffPoll, HANDOFF_POLL_NS_DEFAULT, POLL_WORDS, readHandoffPoll, type HandoffPollStats } from './handoff-poll.js';
import { KvmRun, RUN_STATE_EXITED, RUN_STATE_FAILED, RUN_STATE_RUN, STATE_WORD, VCPU_POLL_WORD, type KvmExit } from './kvm-run.js';
import type { VmmHandlerSpec } from './vmm/handlers.js';
import { CLAIMED_WORD, DESTROY_WORD, RELEASED_WORD, type VcpuLines, type VcpuWorkerApi, type VcpuWorkerData } from './worker/protocol.js';

/** Options of a vCPU beyond docs/api.md's. */
export interface VcpuOptions {
  /** Exit handlers to run in the vCPU's own thread, in order, before an exit reaches run(). */
  vmm?: VmmHandlerSpec[];
  /**
   * Largest spin, in ns, of each side of the KVM_RUN handoff before it sleeps (default 200 000, KVM's
   * halt_poll_ns; 0 = always sleep). The window adapts like halt_poll_ns: docs/vcpu.md.
   */
  runPollNs?: number;
}

/** kvm_run states at which a KVM_RUN returns to its caller. */
const returned = (s: number): boolean => s === RUN_STATE_EXITED || s === RUN_STATE_FAILED;

/** A KVM_RUN that failed: the errno as KvmError, with kvm_run.memory_fault when KVM filled it. */
export class KvmRunError extends KvmError {
  constructor(code: KvmErrorCode, message: string, readonly memoryFault?: { flags: number; gpa: number; size: number }) {
    super(code, message);
    this.name = 'KvmRunError';
  }
}

/** The guest program (or the runtime under it) threw; every later run() fails the same way. */
export class GuestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestError';
  }
}

const workerUrl = new URL('./worker/vcpu-worker.js', import.meta.url);
/** Ids whose createVcpu is in flight, per VM: KVM_CREATE_VCPU takes the id at once. */
const creating = new WeakMap<Vm, Set<number>>();

/** A vCPU: its worker thread, its kvm_run, and KVM_RUN. */
export class Vcpu {
  /** kvm_run, shared with the vCPU thread (mmio.data lives here). */
  readonly kvmRun: KvmRun;
  private readonly worker: Worker;
  private readonly api: Comlink.Remote<VcpuWorkerApi>;
  private dead: Error | undefined;
  private readonly death: Promise<never>;
  private readonly exited: Promise<void>;
  private running = false;
  private lines: VcpuLines | undefined;
  private destroyed: Promise<void> | undefined;
  /** The VMM side's poll window for exits. */
  private readonly poll: HandoffPoll;

  private constructor(readonly vm: Vm, readonly id: number, run: KvmRun, worker: Worker, pollNs: number) {
    this.kvmRun = run;
    this.poll = new HandoffPoll(pollNs);
    this.worker = worker;
    this.api = Comlink.wrap<VcpuWorkerApi>(nodeEndpoint(worker));
    this.death = new Promise<never>((_, reject) => {
      worker.once('error', (e) => { this.dead ??= e instanceof Error ? e : new Error(String(e)); reject(this.dead); });
      worker.once('exit', (code) => { this.dead ??= new Error(`vCPU ${id} thread exited (code ${code})`); reject(this.dead); });
    });
    this.death.catch(() => {});
    // Whatever way the thread ends, what it held in shared memory must not outlive it.
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => { this.reap(); resolve(); }));
  }

  /** Reclaims the vCPU line and SRCU readers of a thread that ended without giving them back. */
  private reap(): void {
    if (Atomics.load(this.kvmRun.i32, RELEASED_WORD) !== 0) return;
    const shared = this.vm.shared;
    if (this.lines) {
      shared.srcu.reclaim(this.lines.vmReader);
      shared.host.reclaimHostReader(this.lines.hostReader);
      shared.host.reclaimUffdRecord(this.lines.uffdRecord);
    }
    // Only a line this thread claimed: a duplicate id's thread never held the live vCPU's line.
    if (Atomics.load(this.kvmRun.i32, CLAIMED_WORD) !== 0 && !shared.vcpus.isFree(this.id)) shared.vcpus.reclaim(this.id);
    Atomics.store(this.kvmRun.i32, RELEASED_WORD, 1);
  }

  /** @internal see createVcpu */
  static async create(vm: Vm, id: number, spec: GuestSpec, options: VcpuOptions = {}): Promise<Vcpu> {
    if (!Number.isInteger(id) || id < 0) throw new KvmError('EINVAL', `createVcpu: id must be a non-negative integer (got ${String(id)})`);
    if (!spec || typeof spec.guest !== 'string') throw new KvmError('EINVAL', 'createVcpu: guest must be { guest: string, args? }');
    if (id >= KVM_MAX_VCPUS) throw new KvmError('EINVAL', `createVcpu: id must be < KVM_MAX_VCPUS (${KVM_MAX_VCPUS})`);
    if (vm.isClosed) throw new KvmError('EIO', 'createVcpu: the VM is closed');
    const pollNs = options.runPollNs;
    if (pollNs !== undefined && (!Number.isInteger(pollNs) || pollNs < 0 || pollNs > 2 ** 31 - 1)) {
      throw new RangeError(`createVcpu: options.runPollNs must be an integer number of ns in [0, 2^31 - 1] (got ${String(pollNs)})`);
    }
    let pending = creating.get(vm);
    if (!pending) creating.set(vm, (pending = new Set()));
    if (!vm.shared.vcpus.isFree(id) || pending.has(id)) throw new KvmError('EEXIST', `createVcpu: vCPU ${id} already exists`);
    pending.add(id);
    try {
      return await Vcpu.spawn(vm, id, spec, options);
    } finally {
      pending.delete(id);
    }
  }

  private static async spawn(vm: Vm, id: number, spec: GuestSpec, options: VcpuOptions): Promise<Vcpu> {
    const pollNs = options.runPollNs ?? HANDOFF_POLL_NS_DEFAULT;
    const run = new KvmRun();
    const data: VcpuWorkerData = { handle: vm.handle(), id, kvmRun: run.buffer, pollNs };
    const worker = new Worker(workerUrl, { workerData: data });
    const vcpu = new Vcpu(vm, id, run, worker, pollNs);
    try {
      vcpu.lines = await Promise.race([vcpu.api.start(spec.guest, spec.args, options.vmm ?? []), vcpu.death]);
      // Between KVM_RUNs the thread only waits: it must not keep a program alive that has finished
      // with its vCPUs without destroying them. run() holds the process alive while it waits.
      worker.unref();
    } catch (e) {
      await vcpu.destroy();
      throw e;
    }
    return vcpu;
  }

  /** KVM_RUN: resolves at the next exit that reaches the caller; rejects if KVM_RUN fails or the thread dies. */
  async run(): Promise<KvmExit> {
    if (this.destroyed) throw new KvmError('EIO', `KVM_RUN: vCPU ${this.id} was destroyed`);
    if (this.dead) throw this.dead;
    if (this.running) throw new KvmError('EBUSY', `vCPU ${this.id} is already running`);
    this.running = true;
    this.worker.ref();
    try {
      const t0 = performance.now();
      this.kvmRun.setState(RUN_STATE_RUN);
      if (!this.poll.spin(this.kvmRun.i32, STATE_WORD, returned)) await Promise.race([this.kvmRun.waitForExit(), this.death]);
      this.poll.update((performance.now() - t0) * 1e6);
    } finally {
      this.running = false;
      // A destroy() that began meanwhile holds the program alive until the thread has ended.
      if (!this.destroyed) this.worker.unref();
    }
    if (this.kvmRun.state === RUN_STATE_FAILED) {
      const f = this.kvmRun.failure();
      if (f.errno === 0) throw new GuestError(f.message);
      const code = (Object.keys(ERRNO) as KvmErrorCode[]).find((k) => ERRNO[k] === f.errno) ?? 'EIO';
      const mf = this.kvmRun.memoryFault();
      throw new KvmRunError(code, f.message, mf.size ? mf : undefined);
    }
    return this.kvmRun.exit();
  }

  /** What the vCPU's CPU did so far (TLB misses, faults, exits), read from kvm_run. */
  stats(): CpuStats {
    return readCpuStats(this.kvmRun);
  }

  /** The KVM_RUN handoff's polling: the vCPU thread waiting for run(), and run() waiting for an exit. */
  pollStats(): { vcpu: HandoffPollStats; vmm: HandoffPollStats } {
    return { vcpu: readHandoffPoll(new Int32Array(this.kvmRun.buffer, VCPU_POLL_WORD * 4, POLL_WORDS)), vmm: this.poll.stats() };
  }

  /**
   * Stops the vCPU thread: it unwinds the guest at its next exit or request check and gives back
   * what it holds; a thread that does not within 2 s is terminated and its lines reclaimed.
   */
  destroy(): Promise<void> {
    this.destroyed ??= this.doDestroy();
    return this.destroyed;
  }

  private async doDestroy(): Promise<void> {
    // The caller awaits the thread's end: it must keep the program alive until then.
    this.worker.ref();
    if (!this.dead) {
      Atomics.store(this.kvmRun.i32, DESTROY_WORD, 1);
      this.kvmRun.setState(RUN_STATE_RUN);
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && !this.dead && Atomics.load(this.kvmRun.i32, RELEASED_WORD) === 0) {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    this.api[Comlink.releaseProxy]();
    await this.worker.terminate();
    await this.exited;
  }
}

/** KVM_CREATE_VCPU: a worker thread running `guest`, sharing the VM's memory. */
export function createVcpu(vm: Vm, id: number, guest: GuestSpec, options?: VcpuOptions): Promise<Vcpu> {
  return Vcpu.create(vm, id, guest, options);
}
