/** Shared helpers of the core uAPI behaviour tests (not a test file itself). */
import type { ExecutionContext } from 'ava';
import { Kvm, KvmError, type KvmErrorCode, type MemslotInfo, type UserspaceMemoryRegion, type Vm, type VmOptions } from '@vcpu-rt/core';

/** Both memslot designs: every behavioural test runs against each. */
export const IMPLS = ['tree', 'array'] as const;
export type Impl = (typeof IMPLS)[number];

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const kvm = new Kvm();

/**
 * A VM that is closed when the test ends. Host physical memory defaults to 16 MiB (instead of the
 * model's 1 GiB) so that hundreds of table rows stay light; pass hostMemoryBytes to override.
 */
export function newVm(t: ExecutionContext, options: VmOptions = {}): Vm {
  const vm = kvm.createVm({ hostMemoryBytes: 16 * MiB, ...options });
  t.teardown(() => vm.close());
  return vm;
}

/** The shared /dev/kvm object. */
export function theKvm(): Kvm {
  return kvm;
}

/** A region with defaults for the fields a row does not care about. */
export function region(r: Partial<UserspaceMemoryRegion> & { slot: number }): UserspaceMemoryRegion {
  return { flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: 0, ...r };
}

/** Everything a failed ioctl must leave alone: per address space, the slots and the generation. */
export interface VmSnapshot {
  slots: MemslotInfo[][];
  generations: bigint[];
}

export function snapshot(vm: Vm): VmSnapshot {
  const slots: MemslotInfo[][] = [];
  const generations: bigint[] = [];
  for (let as = 0; as < vm.addressSpaces; as++) {
    slots.push(vm.memslots(as));
    generations.push(vm.memslotGeneration(as));
  }
  return { slots, generations };
}

/**
 * Asserts that `fn` throws a KvmError with `code` (and the matching negative errno) whose message
 * contains `message` (a substring, or a RegExp). Returns the error.
 */
export function throwsKvm(
  t: ExecutionContext,
  fn: () => unknown,
  code: KvmErrorCode,
  message?: string | RegExp,
): KvmError | undefined {
  const err = t.throws(fn, { instanceOf: KvmError });
  if (!err) return undefined;
  t.is(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  const errnos: Record<KvmErrorCode, number> = {
    ENOENT: -2, EIO: -5, ENXIO: -6, EAGAIN: -11, ENOMEM: -12, EFAULT: -14, EBUSY: -16, EEXIST: -17, EINVAL: -22,
  };
  t.is(err.errno, errnos[code]);
  if (typeof message === 'string') t.true(err.message.includes(message), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(message)}`);
  else if (message) t.regex(err.message, message);
  return err;
}

/** An ExecutionContext-free deterministic PRNG (mulberry32) for reproducible "random" tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
