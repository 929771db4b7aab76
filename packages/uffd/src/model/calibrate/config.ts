/** The options of calibrateCosts, the benchmark VM's addresses and fake waiter records, and the QUICK and FULL configurations. */
import { UFFD_MAX_WAITERS } from '@vcpu-rt/core';

/** Options of calibrateCosts. */
export interface CalibrateOptions {
  /** Fewer repeats and smaller runs: under ~10 s instead of under ~60 s. */
  quick?: boolean;
  /** Called with one line per measurement as it completes. */
  progress?: (line: string) => void;
}

export const PAGE = 4096;
export const GPA = 2 ** 30;
export const GPA_PLAIN = 2 ** 31;
/** Waiter records the wait-queue benchmarks queue without threads: the top of the record array (threads claim from 0 up). */
export const fakeRecord = (i: number): number => UFFD_MAX_WAITERS - 1 - i;
export const MAX_FAKE = 512;
/** Addresses of the fake waiters' messages, and a range that matches none of them. */
export const ADDR = 0x10_0000_0000;
export const FAR = 0x08_0000_0000;

export interface Config {
  quick: boolean;
  /** Repeats of each microbenchmark (the median is kept) and batches per repeat. */
  reps: number;
  batches: number;
  /** Pages of the benchmark VM's MINOR region (at least 1024: two page-table leaves for the shared-line count). */
  pages: number;
  /** Real runs of each path, and their sizes. */
  runs: number;
  /** Exit-path runs at the end of the calibration, besides the runs' (exitFigures). */
  lateExitRuns: number;
  /** Bytes per vCPU of each exit-path run: 64 MiB in full, so the measured pass (tens of ms) outlasts a millisecond stall of the host. */
  exitBytes: number;
  uffdBytes: number;
  warmupPages: number;
  /** Single timed calls per point (walks over records written by another thread, wakes of real sleepers). */
  samples: number;
  /** Ping-pong turns per role, mode and repeat (even), and repeats. */
  turns: number;
  pingReps: number;
  /** Queue lengths of the walk benchmarks. */
  walkLengths: number[];
  remoteWalkLengths: number[];
}

export const QUICK: Config = {
  quick: true, reps: 7, batches: 8, pages: 1024, runs: 1, lateExitRuns: 0, exitBytes: 8 << 20, uffdBytes: 8 << 20, warmupPages: 4096,
  samples: 40, turns: 2000, pingReps: 3, walkLengths: [1, 16, 64, 256], remoteWalkLengths: [8, 64, 256],
};
export const FULL: Config = {
  quick: false, reps: 21, batches: 16, pages: 2048, runs: 3, lateExitRuns: 2, exitBytes: 64 << 20, uffdBytes: 32 << 20, warmupPages: 8192,
  samples: 150, turns: 8000, pingReps: 5, walkLengths: [1, 8, 32, 128, 512], remoteWalkLengths: [4, 16, 64, 256, 512],
};
