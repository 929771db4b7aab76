/** The slot plan shared by the stress test and its reader workers: what a consistent slot looks like. */

/** Slot ids 1..NSLOTS take part. */
export const NSLOTS = 24;
/** How long the main thread keeps changing slots. */
export const STRESS_SECONDS = 3;

/** The immutable facts of slot `id`: its size, its host address, and the two bases it moves between. */
export function slotPlan(id: number): { npages: number; uaddr: number; bases: [number, number] } {
  return { npages: 1 + (id % 7), uaddr: 0x6000_0000_0000 + id * 0x10_0000, bases: [id * 32, 2048 + id * 32] };
}

/** What a reader worker reports. */
export interface ReaderResult {
  lookups: number;
  hits: number;
  invalidSeen: number;
  generations: number;
  violations: string[];
}
