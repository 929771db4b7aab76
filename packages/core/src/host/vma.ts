/**
 * The VMA table of a HostMemory (mm->mm_mt): sorted, non-overlapping [start, end) ranges with what
 * backs them (anonymous memory or a memfd at a page offset) and their userfaultfd registration.
 * Layout: docs/host-memory.md §2. Writers hold mmap_lock inside the mm seqcount; readers retry.
 */

/** Float64 fields per VMA in the `vmas` buffer. */
export const VMA_FIELDS = 6;
/** Field: first hva (page aligned). */
export const VMA_START = 0;
/** Field: hva one past the last byte. */
export const VMA_END = 1;
/** Field: memfd id + 1, or 0 for anonymous memory. */
export const VMA_FILE = 2;
/** Field: page offset in the memfd of `start` (vm_pgoff). */
export const VMA_PGOFF = 3;
/** Field: userfaultfd context + 1 (vm_userfaultfd_ctx), or 0. */
export const VMA_UFFD = 4;
/** Field: UFFDIO_REGISTER_MODE_* bits the range is registered with (VM_UFFD_MISSING / _WP / _MINOR). */
export const VMA_UFFD_MODE = 5;

/** One VMA, as the writers handle it (the table itself holds plain Float64 fields). */
export interface Vma {
  start: number;
  end: number;
  /** memfd id + 1; 0 = anonymous. */
  file: number;
  /** memfd page offset of `start`. */
  pgoff: number;
  /** userfaultfd context + 1; 0 = not registered. */
  uffd: number;
  /** UFFDIO_REGISTER_MODE_* bits. */
  uffdMode: number;
}

/** Can `b`, starting where `a` ends, join `a` (vma_merge: same backing, contiguous file offset, same uffd)? */
export function vmaMergeable(a: Vma, b: Vma): boolean {
  return a.end === b.start && a.file === b.file && a.uffd === b.uffd && a.uffdMode === b.uffdMode &&
    (a.file === 0 || a.pgoff + (a.end - a.start) / 4096 === b.pgoff);
}

/** The part of `v` inside [start, end), or undefined (split_vma keeps the file offset right). */
export function vmaClip(v: Vma, start: number, end: number): Vma | undefined {
  const s = Math.max(v.start, start);
  const e = Math.min(v.end, end);
  if (s >= e) return undefined;
  return { ...v, start: s, end: e, pgoff: v.file === 0 ? 0 : v.pgoff + (s - v.start) / 4096 };
}

/** `list` with [start, end) cut out, splitting the VMAs it crosses. */
export function vmaCut(list: readonly Vma[], start: number, end: number): Vma[] {
  const out: Vma[] = [];
  for (const v of list) {
    const below = vmaClip(v, v.start, start);
    const above = vmaClip(v, end, v.end);
    if (v.end <= start || v.start >= end) out.push(v);
    else {
      if (below) out.push(below);
      if (above) out.push(above);
    }
  }
  return out;
}

/** Sorts and merges `list` (the result is what the table stores). */
export function vmaNormalize(list: Vma[]): Vma[] {
  list.sort((a, b) => a.start - b.start);
  const merged: Vma[] = [];
  for (const v of list) {
    const last = merged[merged.length - 1];
    if (last && vmaMergeable(last, v)) last.end = v.end;
    else merged.push({ ...v });
  }
  return merged;
}
