/**
 * Shared layout of the scalable memslots (docs/memslots.md): slot records in a growable arena,
 * each carrying one set of tree and hash nodes per memslot set, and a header per (as, set).
 * A record is three 64-byte lines; everything a gfn search touches (base gfn, npages, both sets'
 * gfn-tree links) sits in the first, so a descent costs one cache line per level.
 */
import { ARENA_HEADER_WORDS } from '../../sync/growable.js';

/** Int32 words of a slot record: three cache lines. */
export const RECORD_WORDS = 48;
/** Word of record 0 in the arena (after the arena header). */
export const RECORDS_BASE = ARENA_HEADER_WORDS;

// Line 0: the gfn search.
/** f64 base gfn (words 0-1). */
export const R_BASE_GFN = 0;
export const R_NPAGES = 2;
export const R_ID = 3;
/** gfn rb-node of set s at 4 + 4s: left, right, parent, colour. */
export const R_GFN_NODE = 4;
export const R_FLAGS = 12;
/** Record stamp: odd while the record is live, even once freed; bumped by both. */
export const R_STAMP = 13;
export const R_AS = 14;
export const R_DIRTY = 15;
// Line 1: the hva interval tree.
/** f64 userspace address (words 16-17). */
export const R_UADDR = 16;
/** f64 subtree max inclusive `last` of set s at 18 + 2s. */
export const R_HVA_MAX = 18;
/** hva interval-tree node of set s at 22 + 4s: left, right, parent, colour. */
export const R_HVA_NODE = 22;
// Line 2: the id hash.
/** id-hash chain of set s at 32 + 2s: next, prev. */
export const R_ID_NODE = 32;

/** Word of field `f` of record `ref`. */
export function rw(ref: number, f: number): number {
  return RECORDS_BASE + ref * RECORD_WORDS + f;
}

/** Offset of set `set`'s gfn node in a record. */
export const gfnNode = (set: number): number => R_GFN_NODE + 4 * set;
/** Offset of set `set`'s hva node in a record. */
export const hvaNode = (set: number): number => R_HVA_NODE + 4 * set;
/** Offset of set `set`'s subtree max (an f64, so word offset is even). */
export const hvaMax = (set: number): number => R_HVA_MAX + 2 * set;
/** Offset of set `set`'s id-hash next link; prev follows it. */
export const idNode = (set: number): number => R_ID_NODE + 2 * set;

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
