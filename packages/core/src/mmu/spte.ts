/** Shadow (TDP) page-table entries as the model encodes them in one Int32: frame << 3 | W | P. */

/** The entry maps a frame. */
export const SPTE_PRESENT = 1;
/** Guest writes may use the mapping (clear for READONLY slots and write-protected dirty logging). */
export const SPTE_WRITABLE = 2;

/** An spte for `frame`. */
export function makeSpte(frame: number, writable: boolean): number {
  return (frame << 3) | SPTE_PRESENT | (writable ? SPTE_WRITABLE : 0);
}

/** The host frame an spte maps. */
export function spteFrame(spte: number): number {
  return spte >>> 3;
}
