/**
 * Seed 004's published before/after figures ("[PATCH v4 00/13] KVM: Scalable memslots
 * implementation", Xeon 8167M, TDP MMU off), in seconds per memslot_perf_test iteration.
 * "32k" is the row for 32763 slots; its Map figure was taken with 8194 slots.
 */
export interface PublishedRow {
  before: number;
  after: number;
}

/** Published tests by our test names; move figures are per iteration (two moves). */
export const PUBLISHED: Record<number, Partial<Record<'map' | 'unmap' | 'unmap-2m' | 'move-active' | 'move-inactive' | 'setup', PublishedRow>>> = {
  509: {
    map: { before: 0.0232, after: 0.0223 }, unmap: { before: 0.0724, after: 0.0315 }, 'unmap-2m': { before: 0.00155, after: 0.000869 },
    'move-active': { before: 0.000101, after: 0.0000792 }, 'move-inactive': { before: 0.000108, after: 0.0000847 }, setup: { before: 0.0135, after: 0.00803 },
  },
  100: {
    map: { before: 0.0195, after: 0.0191 }, unmap: { before: 0.0374, after: 0.0312 }, 'unmap-2m': { before: 0.000470, after: 0.000447 },
    'move-active': { before: 0.0000956, after: 0.0000800 }, 'move-inactive': { before: 0.000101, after: 0.0000840 }, setup: { before: 0.00260, after: 0.00174 },
  },
  50: {
    map: { before: 0.0192, after: 0.0190 }, unmap: { before: 0.0339, after: 0.0311 }, 'unmap-2m': { before: 0.000399, after: 0.000395 },
    'move-active': { before: 0.0000999, after: 0.0000854 }, 'move-inactive': { before: 0.0000992, after: 0.0000826 }, setup: { before: 0.00141, after: 0.000990 },
  },
  30: {
    map: { before: 0.0192, after: 0.0190 }, unmap: { before: 0.0325, after: 0.0310 }, 'unmap-2m': { before: 0.000373, after: 0.000373 },
    'move-active': { before: 0.000100, after: 0.0000865 }, 'move-inactive': { before: 0.000106, after: 0.0000918 }, setup: { before: 0.000989, after: 0.000775 },
  },
  10: {
    map: { before: 0.0192, after: 0.0186 }, unmap: { before: 0.0313, after: 0.0310 }, 'unmap-2m': { before: 0.000348, after: 0.000351 },
    'move-active': { before: 0.000110, after: 0.0000948 }, 'move-inactive': { before: 0.000111, after: 0.0000933 }, setup: { before: 0.000342, after: 0.000283 },
  },
  32763: {
    map: { before: 0.200, after: 0.0541 }, unmap: { before: 3.88, after: 0.0351 }, 'unmap-2m': { before: 3.88, after: 0.0348 },
    'move-active': { before: 0.00142, after: 0.0000786 }, 'move-inactive': { before: 0.00148, after: 0.0000880 }, setup: { before: 16.1, after: 0.59 },
  },
};

/** Where PUBLISHED comes from, for reports and the JSON output. */
export const PUBLISHED_SOURCE = 'Maciej S. Szmigiero, "[PATCH v4 00/13] KVM: Scalable memslots implementation" (kvm@vger): ' +
  'memslot_perf_test on a Xeon 8167M, TDP MMU off; before = the array design (pre-5.17), after = the tree (5.17+); ' +
  'seconds per iteration (a move iteration is two moves); "32k" = 32763 slots, its map figure taken with 8194';
