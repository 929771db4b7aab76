/**
 * Demand-paging steps checked with the engine's own option rules (`demandPagingOptions`) before
 * anything runs, so that a combination the schema cannot see (guest memory over every vCPU, readers
 * over every uffd) is refused at once and at its line, not minutes into the run.
 */
import { demandPagingOptions } from '@vcpu-rt/uffd';
import type { PagingRun } from './run/paging.js';

/** The first rule a vCPU count of `run` breaks, with the option it names; undefined when all pass. */
export function pagingProblem(run: PagingRun): { option: string; rule: string } | undefined {
  for (const vcpus of run.vcpus) {
    for (const exits of run.paths.map((p) => p === 'exit')) {
      try {
        demandPagingOptions({
          vcpus, exits, bytesPerVcpu: run.bytesPerVcpu, mode: run.mode, singleUffd: run.singleUffd, readers: run.readers,
          handlerDelayUs: run.handlerDelayUs, overlap: run.overlap, fetchLatencyUs: run.fetchLatencyUs, wake: run.wake, warmupPages: run.warmupPages,
        });
      } catch (e) {
        const message = (e as Error).message.replace(/^demandPaging: /, '');
        return { option: message.split(' ')[0], rule: `at ${vcpus} vCPU${vcpus > 1 ? 's' : ''}: ${message}` };
      }
    }
  }
  return undefined;
}
