/** @vcpu-rt/core: the KVM guest-memory subsystem, laid out in SharedArrayBuffers. */
export * from './uapi.js';
export { ERRNO, KvmError, type KvmErrorCode } from './errors.js';
export { Kvm } from './kvm.js';
export { Vm, type VmOptions } from './vm/vm.js';
export type { UserspaceMemoryRegion, MrChange } from './vm/set-memory-region.js';
export type { ClearDirtyLogRequest } from './vm/dirty-log.js';
export type { VmHandle } from './vm/shared.js';
export { attachVm, VmView } from './vm/view.js';
export type { MemslotInfo, MemslotImpl } from './memslots/memslot.js';
export { HostMemory, type HostMemoryOptions, type HostMemoryHandle, type MadviseAdvice } from './host/host-memory.js';
export type { MmuNotifier } from './host/mmu-notifier.js';
export { Srcu, SrcuReader, SRCU_MAX_READERS } from './srcu.js';
export { VcpuMemslotCache } from './memslots/vcpu-cache.js';
export { VmShared } from './vm/shared.js';
