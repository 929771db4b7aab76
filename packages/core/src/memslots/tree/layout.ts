/**
 * Shared layout of the scalable memslots (docs/memslots.md): slot records in a growable arena,
 * each carrying one set of tree and hash nodes per memslot set, and a header per (as, set).
 */
/** Int32 words of a slot record (even: the f64 fields stay 8-byte aligned). */
export const RECORD_WORDS = 36;
/** Record stamp: odd while the record is live, even once freed; bumped by both. */
export const R_STAMP = 0;
export const R_ID = 1;
export const R_AS = 2;
export const R_FLAGS = 3;
export const R_NPAGES = 4;
export const R_DIRTY = 5;
/** f64 base gfn at words 6-7. */
export const R_BASE_GFN = 6;
/** f64 userspace address at words 8-9. */
export const R_UADDR = 8;
/** Per-set nodes start here; set s at R_NODES + s * NODE_WORDS. */
export const R_NODES = 10;
export const NODE_WORDS = 12;
/** gfn rb-node: left, right, parent, colour. */
export const N_GFN = 0;
/** hva interval-tree node: left, right, parent, colour, then f64 subtree max `last` at +8. */
export const N_HVA = 4;
export const N_HVA_MAX = 8;
/** id hash chain: next, prev. */
export const N_ID_NEXT = 10;
export const N_ID_PREV = 11;

/** Buckets of the id hash (DECLARE_HASHTABLE(id_hash, 7)). */
export const ID_HASH_BITS = 7;
export const ID_HASH_BUCKETS = 1 << ID_HASH_BITS;
/** Set header words: gfn root, hva root, last-used slot, slot count, then the buckets. */
export const H_GFN_ROOT = 0;
export const H_HVA_ROOT = 1;
export const H_LAST_USED = 2;
export const H_NR = 3;
export const H_BUCKETS = 4;
export const HEADER_WORDS = H_BUCKETS + ID_HASH_BUCKETS;

/** hash_32(id, 7), as hash_min does for an int key. */
export function idBucket(id: number): number {
  return Math.imul(id, 0x61c88647) >>> (32 - ID_HASH_BITS);
}

/** Word index of the header of set `set` of address space `as`. */
export function headerBase(as: number, set: number): number {
  return (as * 2 + set) * HEADER_WORDS;
}
