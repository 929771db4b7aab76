/** Demand-paging steps (`bench demand-paging` and `postcopy`): `benchDemandPaging` and its section. */
import { benchDemandPaging, type DemandPagingBenchOptions, type PagingPath } from '../../bench/demand-paging.js';
import { TABLE_A, TABLE_A_SOURCE } from '../../bench/published-postcopy.js';
import type { ResultSection } from '../../result/document.js';
import { sizeText } from '../schema/common.js';
import type { Step } from '../schema/index.js';
import type { StepContext } from './context.js';

/** What a demand-paging section runs. */
export interface PagingRun extends DemandPagingBenchOptions {
  title: string;
  bytesPerVcpu: number;
  mode: 'missing' | 'minor';
  singleUffd: boolean;
  readers: number | 'per-vcpu';
  handlerDelayUs: number;
  overlap: boolean;
  fetchLatencyUs: number;
  wake: 'all' | 'exclusive';
  warmupPages: number;
}

/** demand_paging_test's flags for the same run, as `vcpu-rt bench demand-paging` takes them. */
export function pagingFlags(o: Omit<PagingRun, 'title' | 'progress'>): string {
  return [
    `-v ${o.vcpus.join(',')}`, `-b ${sizeText(o.bytesPerVcpu)}`, `-u ${o.mode.toUpperCase()}`, o.singleUffd ? '-a' : '--no-single-uffd',
    `-r ${o.readers === 'per-vcpu' ? 'per-vcpu' : o.readers}`, ...(o.handlerDelayUs ? [`-d ${o.handlerDelayUs}`] : []), `--path ${o.paths.join(',')}`,
    ...(o.overlap ? ['-o'] : []), `--fetch-latency-us ${o.fetchLatencyUs}`, `--wake ${o.wake}`,
  ].join(' ');
}

/** Runs the real-thread benchmark and returns its `bench-demand-paging` section. */
export async function runPaging(ctx: StepContext, run: PagingRun): Promise<ResultSection> {
  const { title, ...o } = run;
  const results = await benchDemandPaging({ ...o, progress: (line, done, total) => ctx.progress.step(line, done, total) });
  return {
    kind: 'bench-demand-paging', title,
    command: `vcpu-rt bench demand-paging ${pagingFlags(o)} --warmup-pages ${o.warmupPages} --repeat ${o.repeats}`,
    data: { bench: 'demand-paging', machine: ctx.machine, published: { source: TABLE_A_SOURCE, rows: TABLE_A }, results },
  };
}

/** A `bench: demand-paging` step in the benchmark's terms. */
export function benchPagingRun(step: Extract<Step, { kind: 'bench'; bench: 'demand-paging' }>): PagingRun {
  return {
    title: step.title ?? 'Demand paging: uffd against memory-fault exits, beside table A',
    vcpus: step.vcpus, paths: step.path as PagingPath[], bytesPerVcpu: step.bytesPerVcpu, mode: step.uffdMode as 'missing' | 'minor',
    singleUffd: step.singleUffd, readers: step.readers, handlerDelayUs: step.delayUs, overlap: step.overlap, fetchLatencyUs: step.fetchLatencyUs,
    wake: step.wake as 'all' | 'exclusive', warmupPages: step.warmupPages, repeats: step.repeat,
  };
}

/** A postcopy step in the benchmark's terms. */
export function postcopyRun(step: Extract<Step, { kind: 'postcopy' }>): PagingRun {
  return {
    title: step.title ?? `postcopy: ${step.path === 'both' ? 'uffd wait queues against memory-fault exits' : `the ${step.path} path`} (seed 002)`,
    vcpus: step.vcpus, paths: (step.path === 'both' ? ['uffd', 'exit'] : [step.path]) as PagingPath[], bytesPerVcpu: step.bytesPerVcpu,
    mode: step.mode as 'missing' | 'minor', singleUffd: step.uffds === 'one', readers: step.readers, handlerDelayUs: step.delayUs,
    overlap: step.overlap, fetchLatencyUs: step.fetchLatencyUs, wake: step.wake as 'all' | 'exclusive', warmupPages: step.warmupPages, repeats: step.repeat,
  };
}
