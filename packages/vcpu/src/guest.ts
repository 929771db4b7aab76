/** What guest code sees: its vCPU's memory accesses and ucalls (docs/api.md GuestContext). */
import type { UcallCmd } from './kvm-run.js';

/** The context a guest program runs with. Accesses are synchronous; exits happen inside them. */
export interface GuestContext {
  readonly vcpuId: number;
  read8(gpa: number): number;
  read16(gpa: number): number;
  read32(gpa: number): number;
  read64(gpa: number): bigint;
  write8(gpa: number, v: number): void;
  write16(gpa: number, v: number): void;
  write32(gpa: number, v: number): void;
  write64(gpa: number, v: bigint): void;
  /** Exits with KVM_EXIT_IO carrying a ucall; returns once userspace runs the vCPU again. */
  ucall(cmd: UcallCmd, values?: (number | bigint)[]): void;
  /** Copies guest memory [gpa, gpa + length) out, page by page through the same MMU. */
  readBlock(gpa: number, length: number): Uint8Array;
  /** Copies `data` into guest memory at `gpa`. */
  writeBlock(gpa: number, data: Uint8Array): void;
  /** HLT: exits with KVM_EXIT_HLT. */
  halt(): void;
  /** A triple fault: exits with KVM_EXIT_SHUTDOWN. */
  shutdown(): void;
}

/** A guest program: `module:<path>#<export>` names one. Returning ends the guest like `done`. */
export type GuestProgram = (ctx: GuestContext, args: unknown) => void | Promise<void>;

/** Which guest a vCPU runs: a built-in name, or 'module:<path>#<export>'. */
export interface GuestSpec {
  guest: string;
  args?: unknown;
}
