/**
 * The content of every page of the migrated guest: word k of the page at gfn is a hash of
 * (gfn, k), so any byte anyone reads back can be checked against the source without a copy of it.
 */

/** The 32-bit word `k` (0..1023) of the page at `gfn` (murmur3's finalizer over gfn * 1024 + k). */
export function patternWord(gfn: number, k: number): number {
  const n = gfn * 1024 + k;
  let x = (n >>> 0) ^ Math.imul(Math.floor(n / 4294967296), 0x9e3779b1);
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x | 0;
}

/** Fills `words` (Int32, one page = 1024 words) for pages [first, first + count) of guest memory starting at gfn `baseGfn`. */
export function fillPages(words: Int32Array, baseGfn: number, first: number, count: number): void {
  for (let p = first; p < first + count; p++) {
    const gfn = baseGfn + p;
    const o = p * 1024;
    for (let k = 0; k < 1024; k++) words[o + k] = patternWord(gfn, k);
  }
}

/** Words of page `p` in `words` that differ from the pattern of `gfn` (0 when the page is right). */
export function pageMismatches(words: Int32Array, at: number, gfn: number): number {
  let bad = 0;
  for (let k = 0; k < 1024; k++) if (words[at + k] !== patternWord(gfn, k)) bad++;
  return bad;
}
