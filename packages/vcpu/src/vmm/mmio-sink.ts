/**
 * The built-in exit handler 'mmio-sink': completes MMIO writes inside [min, max], as
 * memslot_perf_test's vCPU thread accepts the MMIO exits of the move tests (data->mmio_ok).
 * Anything else goes on to the next handler or to the run() caller.
 */
import { KVM_EXIT_MMIO } from '@vcpu-rt/core';
import { registerExitHandler } from './handlers.js';

/** Arguments of 'mmio-sink'. */
export interface MmioSinkArgs {
  min: number;
  max: number;
}

registerExitHandler('mmio-sink', (args) => {
  const { min, max } = args as MmioSinkArgs;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) throw new TypeError('mmio-sink needs args { min, max }');
  return (exit) => exit.reason === KVM_EXIT_MMIO && exit.mmio.isWrite && exit.mmio.physAddr >= min && exit.mmio.physAddr + exit.mmio.len - 1 <= max;
});
