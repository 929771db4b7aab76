/** @vcpu-rt/vcpu: vCPU worker threads, kvm_run, exits, guest programs and in-thread VMM handlers. */
export { createVcpu, Vcpu, KvmRunError, GuestError, type VcpuOptions } from './vcpu.js';
export { HandoffPoll, HANDOFF_POLL_NS_DEFAULT, type HandoffPollStats } from './handoff-poll.js';
export { KvmRun, UCALL_MAX_VALUES, type KvmExit, type UcallCmd } from './kvm-run.js';
export type { GuestContext, GuestProgram, GuestSpec } from './guest.js';
export type { CpuStats } from './cpu.js';
export { REQUEST_POLL_INTERVAL } from './cpu.js';
export type { Op } from './guests/ops.js';
export { BUILTIN_GUESTS } from './guests/index.js';
export type { ExitHandler, ExitHandlerFactory, VmmEnv, VmmHandlerSpec } from './vmm/handlers.js';
export { Q35Machine, PCI_HOLE_STRATEGIES, Q35_ECAM_BASE, type PciHoleStrategy, type Q35Options } from './machine/q35.js';
export { PciHost, Q35_DEFAULT_DEVICES, createPciHost, ecamOffset, type PciFunction, type PciHostHandle } from './machine/pci.js';
export type { PciScanArgs } from './guests/pci-scan.js';
export type { MemstressArgs } from './guests/memstress.js';
export type { MemslotPerfArgs } from './guests/memslot-perf.js';
export type { MmioSinkArgs } from './vmm/mmio-sink.js';
