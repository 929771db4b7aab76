/**
 * struct kvm_run in a SharedArrayBuffer: the run/exit handshake between the VMM thread calling
 * Vcpu.run() and the vCPU thread, and the exit data. Layout: docs/vcpu.md.
 */
import {
  KVM_EXIT_HLT, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN,
} from '@vcpu-rt/core';

/** kvm_run.state: the vCPU thread waits for a run (before its first run, or after an exit). */
export const RUN_STATE_EXITED = 0;
/** The VMM asked for KVM_RUN. */
export const RUN_STATE_RUN = 1;
/** The vCPU thread is in KVM_RUN. */
export const RUN_STATE_RUNNING = 2;
/** KVM_RUN failed: `errno` says why. */
export const RUN_STATE_FAILED = 3;

/** The Int32 word of kvm_run's run/exit state. */
export const STATE_WORD = 0;
const STATE = STATE_WORD;
const EXIT_REASON = 1;
const ERRNO = 2;
const MMIO_LEN = 3;
const MMIO_IS_WRITE = 4;
const F_MMIO_PHYS_ADDR = 3; // f64 index (bytes 24..31)
/** Byte offset of mmio.data (8 bytes). */
export const MMIO_DATA = 32;
const MF_FLAGS = 10;
const F_MF_GPA = 6; // f64 index (bytes 48..55)
const MF_SIZE = 14;
const UCALL_CMD = 15;
const UCALL_N = 16;
const ERROR_LEN = 17;
/** Threads asleep, or about to sleep, on the state word: a state change wakes them only then. */
const SLEEPERS = 23;
/** Words 48..53: the vCPU's counters (CpuStats), written by its thread, read by anyone. */
export const STATS_WORD = 48;
/** Words 54..56: the vCPU thread's KVM_RUN handoff poll (HandoffPoll's words). */
export const VCPU_POLL_WORD = 54;
const ERROR_TEXT = 256; // bytes: UTF-8 message of a failure
const ERROR_MAX = 768;
const TAGS = 1024; // bytes: 1 = bigint, 0 = number, per ucall value
/** Ucall values one exit can carry. */
export const UCALL_MAX_VALUES = 4096;
const VALUES = TAGS + UCALL_MAX_VALUES; // bytes: 8 per value
/** Bytes of one kvm_run. */
export const KVM_RUN_BYTES = VALUES + 8 * UCALL_MAX_VALUES;

/** Ucall commands, in kvm_run order. */
export const UCALLS = ['sync', 'done', 'assert'] as const;
/** A ucall command. */
export type UcallCmd = (typeof UCALLS)[number];

/** An exit that reaches the caller of Vcpu.run (docs/api.md). */
export type KvmExit =
  | { reason: typeof KVM_EXIT_MMIO; mmio: { physAddr: number; len: number; isWrite: boolean; data: Uint8Array } }
  | { reason: typeof KVM_EXIT_MEMORY_FAULT; memoryFault: { flags: number; gpa: number; size: number } }
  | { reason: typeof KVM_EXIT_IO; ucall: { cmd: UcallCmd; values: (number | bigint)[] } }
  | { reason: typeof KVM_EXIT_HLT | typeof KVM_EXIT_SHUTDOWN | typeof KVM_EXIT_INTERNAL_ERROR };

/** Views of one vCPU's kvm_run, usable from either side. */
export class KvmRun {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  /** mmio.data: the live 8 bytes userspace completes an MMIO read in. */
  readonly mmioData: Uint8Array;
  private readonly mfView = { reason: KVM_EXIT_MEMORY_FAULT as typeof KVM_EXIT_MEMORY_FAULT, memoryFault: { flags: 0, gpa: 0, size: 0 } };
  private readonly mmioView: { reason: typeof KVM_EXIT_MMIO; mmio: { physAddr: number; len: number; isWrite: boolean; data: Uint8Array } };

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(KVM_RUN_BYTES)) {
    this.i32 = new Int32Array(buffer, 0, 64);
    this.f64 = new Float64Array(buffer, 0, 32);
    this.dv = new DataView(buffer);
    this.mmioData = new Uint8Array(buffer, MMIO_DATA, 8);
    this.mmioView = { reason: KVM_EXIT_MMIO, mmio: { physAddr: 0, len: 0, isWrite: false, data: this.mmioData } };
  }

  get state(): number { return Atomics.load(this.i32, STATE); }

  /**
   * Sets the state and wakes the other side if it sleeps. Atomics.notify takes V8's global futex
   * lock, so it is skipped while the other side spins; sequentially consistent atomics make the
   * check safe: a sleeper counts itself before Atomics.wait compares the state word.
   */
  setState(s: number): void {
    Atomics.store(this.i32, STATE, s);
    if (Atomics.load(this.i32, SLEEPERS) !== 0) Atomics.notify(this.i32, STATE);
  }

  /** Sleeps while the state is `s`, for at most `timeoutMs`. */
  sleep(s: number, timeoutMs: number): void {
    Atomics.add(this.i32, SLEEPERS, 1);
    try {
      Atomics.wait(this.i32, STATE, s, timeoutMs);
    } finally {
      Atomics.sub(this.i32, SLEEPERS, 1);
    }
  }

  /** Sleeps without blocking the thread's event loop while the state is `s`, for at most `timeoutMs`. */
  async sleepAsync(s: number, timeoutMs = Infinity): Promise<void> {
    Atomics.add(this.i32, SLEEPERS, 1);
    try {
      const w = Atomics.waitAsync(this.i32, STATE, s, timeoutMs);
      if (w.async) await w.value;
    } finally {
      Atomics.sub(this.i32, SLEEPERS, 1);
    }
  }

  /** VMM side: resolves when the vCPU thread has exited or failed. */
  async waitForExit(): Promise<void> {
    for (;;) {
      const s = this.state;
      if (s === RUN_STATE_EXITED || s === RUN_STATE_FAILED) return;
      await this.sleepAsync(s);
    }
  }

  setMmio(physAddr: number, len: number, isWrite: boolean): void {
    this.i32[EXIT_REASON] = KVM_EXIT_MMIO;
    this.f64[F_MMIO_PHYS_ADDR] = physAddr;
    this.i32[MMIO_LEN] = len;
    this.i32[MMIO_IS_WRITE] = isWrite ? 1 : 0;
  }

  setMemoryFault(flags: number, gpa: number, size: number): void {
    this.i32[EXIT_REASON] = KVM_EXIT_MEMORY_FAULT;
    this.i32[MF_FLAGS] = flags;
    this.f64[F_MF_GPA] = gpa;
    this.i32[MF_SIZE] = size;
  }

  /** Writes a ucall; more than UCALL_MAX_VALUES values is a guest bug (RangeError). */
  setUcall(cmd: UcallCmd, values: readonly (number | bigint)[]): void {
    if (values.length > UCALL_MAX_VALUES) throw new RangeError(`a ucall carries at most ${UCALL_MAX_VALUES} values (got ${values.length})`);
    this.i32[EXIT_REASON] = KVM_EXIT_IO;
    const n = values.length;
    this.i32[UCALL_CMD] = UCALLS.indexOf(cmd);
    this.i32[UCALL_N] = n;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === 'bigint') {
        this.dv.setUint8(TAGS + i, 1);
        this.dv.setBigUint64(VALUES + 8 * i, BigInt.asUintN(64, v), true);
      } else {
        this.dv.setUint8(TAGS + i, 0);
        this.dv.setFloat64(VALUES + 8 * i, v, true);
      }
    }
  }

  setReason(reason: number): void {
    this.i32[EXIT_REASON] = reason;
  }

  /** vCPU side: KVM_RUN fails with `errno` and a message; memory_fault is what KVM knows, or cleared. */
  setFailure(errno: number, message: string, memoryFault?: { flags: number; gpa: number; size: number }): void {
    this.i32[MF_FLAGS] = memoryFault?.flags ?? 0;
    this.f64[F_MF_GPA] = memoryFault?.gpa ?? 0;
    this.i32[MF_SIZE] = memoryFault?.size ?? 0;
    this.i32[ERRNO] = errno;
    const bytes = new TextEncoder().encode(message).subarray(0, ERROR_MAX);
    new Uint8Array(this.buffer, ERROR_TEXT, ERROR_MAX).set(bytes);
    this.i32[ERROR_LEN] = bytes.length;
  }

  /** The failure written by setFailure. */
  failure(): { errno: number; message: string } {
    const len = this.i32[ERROR_LEN];
    const msg = new TextDecoder().decode(new Uint8Array(this.buffer, ERROR_TEXT, len).slice());
    return { errno: this.i32[ERRNO], message: msg };
  }

  /** The memory_fault fields (also filled for EFAULT when the model knows them). */
  memoryFault(): { flags: number; gpa: number; size: number } {
    return { flags: this.i32[MF_FLAGS], gpa: this.f64[F_MF_GPA], size: this.i32[MF_SIZE] };
  }

  /**
   * The exit for a handler in the vCPU's own thread: MMIO and memory-fault exits come in objects
   * reused from one exit to the next (valid until the handler returns), so handling them allocates
   * nothing; other exits as exit() gives them.
   */
  exitView(): KvmExit {
    const reason = this.i32[EXIT_REASON];
    if (reason === KVM_EXIT_MEMORY_FAULT) {
      const mf = this.mfView.memoryFault;
      mf.flags = this.i32[MF_FLAGS];
      mf.gpa = this.f64[F_MF_GPA];
      mf.size = this.i32[MF_SIZE];
      return this.mfView;
    }
    if (reason === KVM_EXIT_MMIO) {
      const m = this.mmioView.mmio;
      m.physAddr = this.f64[F_MMIO_PHYS_ADDR];
      m.len = this.i32[MMIO_LEN];
      m.isWrite = this.i32[MMIO_IS_WRITE] === 1;
      return this.mmioView;
    }
    return this.exit();
  }

  /** VMM side: the exit as docs/api.md describes it. */
  exit(): KvmExit {
    const reason = this.i32[EXIT_REASON];
    switch (reason) {
      case KVM_EXIT_MMIO:
        return { reason, mmio: { physAddr: this.f64[F_MMIO_PHYS_ADDR], len: this.i32[MMIO_LEN], isWrite: this.i32[MMIO_IS_WRITE] === 1, data: this.mmioData } };
      case KVM_EXIT_MEMORY_FAULT:
        return { reason, memoryFault: this.memoryFault() };
      case KVM_EXIT_IO: {
        const n = this.i32[UCALL_N];
        const values: (number | bigint)[] = [];
        for (let i = 0; i < n; i++) {
          values.push(this.dv.getUint8(TAGS + i) ? this.dv.getBigUint64(VALUES + 8 * i, true) : this.dv.getFloat64(VALUES + 8 * i, true));
        }
        return { reason, ucall: { cmd: UCALLS[this.i32[UCALL_CMD]], values } };
      }
      case KVM_EXIT_HLT:
      case KVM_EXIT_SHUTDOWN:
      case KVM_EXIT_INTERNAL_ERROR:
        return { reason };
      default:
        throw new Error(`kvm_run: unknown exit reason ${reason}`);
    }
  }
}
