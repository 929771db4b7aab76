/**
 * A vCPU's TLB: a direct-mapped cache of sptes, private to its thread. The guest-access hit path
 * reads it and nothing else; KVM_REQ_TLB_FLUSH empties it.
 */
/** Entries (a power of two). */
export const TLB_ENTRIES = 1024;

/** Direct-mapped gfn -> spte cache. */
export class Tlb {
  /** gfn held by each entry; -1 when empty. */
  readonly tags = new Float64Array(TLB_ENTRIES).fill(-1);
  /** The spte cached for that gfn. */
  readonly sptes = new Int32Array(TLB_ENTRIES);

  /** Caches `spte` for `gfn`. */
  fill(gfn: number, spte: number): void {
    const i = gfn & (TLB_ENTRIES - 1);
    this.tags[i] = gfn;
    this.sptes[i] = spte;
  }

  /** Drops every entry. */
  flush(): void {
    this.tags.fill(-1);
  }
}
