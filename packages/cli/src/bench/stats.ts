/** Repetition statistics and the machine description every benchmark report carries. */
import os from 'node:os';

/** Where a benchmark ran. */
export interface MachineInfo {
  cpus: number;
  node: string;
  cpuModel: string;
}

/** The machine this process runs on. */
export function machineInfo(): MachineInfo {
  return { cpus: os.availableParallelism(), node: process.version, cpuModel: os.cpus()[0]?.model ?? 'unknown' };
}

/** Median and spread of repeated measurements. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  repeats: number;
}

/** Summarizes repeated measurements (seconds). */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], repeats: s.length };
}

/** Seconds elapsed since `t0` (a performance.now() reading). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}
