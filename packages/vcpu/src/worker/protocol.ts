/** What the Vcpu (VMM thread) and its worker share: workerData, the comlink API, kvm_run words. */
import type { VmHandle } from '@vcpu-rt/core';
import type { VmmHandlerSpec } from '../vmm/handlers.js';

/** kvm_run word the VMM sets to make the vCPU thread unwind and exit. */
export const DESTROY_WORD = 20;
/** kvm_run word the vCPU thread sets once it has given back its vCPU line and SRCU readers. */
export const RELEASED_WORD = 21;
/** kvm_run word the vCPU thread sets once it holds its vCPU line. */
export const CLAIMED_WORD = 22;

/** The shared lines a vCPU thread holds, for reclaiming them if it dies. */
export interface VcpuLines {
  vmReader: number;
  hostReader: number;
  /** The thread's userfaultfd waiter record (a thread killed asleep in handle_userfault leaves it queued). */
  uffdRecord: number;
}

/** The worker's start-up data. */
export interface VcpuWorkerData {
  handle: VmHandle;
  id: number;
  kvmRun: SharedArrayBuffer;
  /** The vCPU side's largest handoff poll window, ns (VcpuOptions.runPollNs). */
  pollNs: number;
}

/** The control plane, over comlink: served while the vCPU thread waits for its first KVM_RUN or after its guest ended. */
export interface VcpuWorkerApi {
  /** Loads the guest and the in-thread exit handlers, then waits for the first KVM_RUN. */
  start(guest: string, args: unknown, vmm: VmmHandlerSpec[]): Promise<VcpuLines>;
}
