/** KVM_CHECK_EXTENSION and KVM_ENABLE_CAP for the capabilities the model implements. */
import { check, KvmError } from '../errors.js';
import {
  KVM_ADDRESS_SPACE_NUM, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_CAP_MEMORY_FAULT_INFO, KVM_CAP_MEMORY_FAULT_NOWAIT,
  KVM_CAP_MULTI_ADDRESS_SPACE, KVM_CAP_NR_MEMSLOTS, KVM_CAP_PCI_HOLE_MEM, KVM_CAP_READONLY_MEM, KVM_CAP_SYNC_MMU,
  KVM_CAP_USER_MEMORY, KVM_CAP_X86_MEMORY_FAULT_EXIT, KVM_DIRTY_LOG_MANUAL_CAPS, KVM_MEMFAULT_VALID_REASONS,
  KVM_USER_MEM_SLOTS,
} from '../uapi.js';

/** The capabilities this model knows, with what KVM_CHECK_EXTENSION returns for them. */
const CAPS: ReadonlyMap<number, (nrAs: number | undefined) => number> = new Map([
  [KVM_CAP_USER_MEMORY, () => 1],
  [KVM_CAP_SYNC_MMU, () => 1],
  [KVM_CAP_NR_MEMSLOTS, () => KVM_USER_MEM_SLOTS],
  [KVM_CAP_READONLY_MEM, () => 1],
  [KVM_CAP_MULTI_ADDRESS_SPACE, (nrAs: number | undefined) => nrAs ?? KVM_ADDRESS_SPACE_NUM],
  [KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, () => KVM_DIRTY_LOG_MANUAL_CAPS],
  [KVM_CAP_PCI_HOLE_MEM, () => 1],
  // The seed-002 series returns the reasons that may be enabled (our choice: docs/uapi-choices.md).
  [KVM_CAP_X86_MEMORY_FAULT_EXIT, () => KVM_MEMFAULT_VALID_REASONS],
  [KVM_CAP_MEMORY_FAULT_NOWAIT, () => 1],
  [KVM_CAP_MEMORY_FAULT_INFO, () => 1],
]);

/** Every capability number the model implements. */
export const KNOWN_CAPS: readonly number[] = [...CAPS.keys()];

/** KVM_CHECK_EXTENSION: 0 for unknown or disabled capabilities. `nrAs` is set for the VM ioctl. */
export function checkExtension(cap: number, disabled: ReadonlySet<number>, nrAs?: number): number {
  if (disabled.has(cap)) return 0;
  const f = CAPS.get(cap);
  return f ? f(nrAs) : 0;
}

/** VM-wide state KVM_ENABLE_CAP changes. */
export interface CapState {
  manualDirtyLogProtect: number;
  memfaultExitReasons: number;
}

/** KVM_ENABLE_CAP on a VM: validates and applies to `state`, or throws EINVAL naming the rule. */
export function enableCap(cap: number, args: readonly number[], disabled: ReadonlySet<number>, state: CapState): void {
  check(Number.isInteger(cap), 'EINVAL', () => `enableCap: cap must be an integer (got ${String(cap)})`);
  check(args.every((a) => Number.isSafeInteger(a) && a >= 0), 'EINVAL', 'enableCap: args must be non-negative safe integers');
  if (disabled.has(cap)) throw new KvmError('EINVAL', `enableCap: capability ${cap} is disabled on this VM`);
  const arg0 = args[0] ?? 0;
  const outside = (allowed: number) => (BigInt(arg0) & ~BigInt(allowed)) !== 0n; // args are u64
  switch (cap) {
    case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: {
      // kvm_vm_ioctl_enable_cap_generic: INITIALLY_SET is only allowed with MANUAL_PROTECT_ENABLE.
      const allowed = arg0 & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE ? KVM_DIRTY_LOG_MANUAL_CAPS : KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
      check(!outside(allowed), 'EINVAL',
        () => `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: args[0] 0x${arg0.toString(16)} has bits outside 0x${allowed.toString(16)} (KVM_DIRTY_LOG_INITIALLY_SET needs KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)`);
      state.manualDirtyLogProtect = arg0;
      return;
    }
    case KVM_CAP_X86_MEMORY_FAULT_EXIT:
      // kvm_memfault_exit_flags_valid with `reasons & ~valid`; the seed's `!valid` accepted anything.
      check(!outside(KVM_MEMFAULT_VALID_REASONS), 'EINVAL',
        () => `KVM_CAP_X86_MEMORY_FAULT_EXIT: args[0] 0x${arg0.toString(16)} has reason bits outside 0x${KVM_MEMFAULT_VALID_REASONS.toString(16)}`);
      state.memfaultExitReasons = arg0;
      return;
    case KVM_CAP_MEMORY_FAULT_NOWAIT:
    case KVM_CAP_MEMORY_FAULT_INFO:
      throw new KvmError('EINVAL', `enableCap: capability ${cap} is informational and cannot be enabled`);
    default:
      throw new KvmError('EINVAL', `enableCap: capability ${cap} cannot be enabled on a VM`);
  }
}
