/**
 * The scalable memslots of Linux 5.17+ (seed 004): slot records shared by the two sets of each
 * address space, a gfn rb-tree, an hva interval tree and an id hash per set, only the modified slot
 * copied, sets swapped under SRCU. Function names follow virt/kvm/kvm_main.c.
 */
import { KvmError } from '../../errors.js';
import { GrowableArena } from '../../sync/growable.js';
import type { Srcu } from '../../srcu.js';
import { KVM_MEM_SLOTS_NUM, KVM_MEMSLOT_INVALID } from '../../uapi.js';
import type { MemslotsCtl } from '../ctl.js';
import { slotHvaLast, type Memslot } from '../memslot.js';
import type { MemslotReader, MemslotStore, MemslotStoreHandle } from '../store.js';
import {
  gfnNode, H_BUCKETS, H_GFN_ROOT, H_HVA_ROOT, H_LAST_USED, H_NR, HEADER_WORDS, headerBase, hvaMax, hvaNode, idBucket,
  idNode, R_AS, R_BASE_GFN, R_DIRTY, R_FLAGS, R_ID, R_NPAGES, R_STAMP, R_UADDR, RECORD_WORDS, RECORDS_BASE, rw,
} from './layout.js';
import { NIL, RbTree } from './rbtree.js';
import { TreeReader } from './tree-reader.js';


/** The writer side of the scalable memslots of one VM. */
export class TreeMemslotStore implements MemslotStore {
  readonly kind = 'tree' as const;
  private readonly records: GrowableArena;
  private readonly header: Int32Array;
  private readonly freeRecords: number[] = [];
  private nextRecord = 0;
  private readonly gfnTrees: RbTree[] = []; // [as * 2 + set]
  private readonly hvaTrees: RbTree[] = [];

  constructor(private readonly ctl: MemslotsCtl, private readonly srcu: Srcu) {
    const nrAs = ctl.nrAddressSpaces;
    const maxRecords = KVM_MEM_SLOTS_NUM * nrAs + 4;
    this.records = GrowableArena.create(0, (RECORDS_BASE + maxRecords * RECORD_WORDS) * 4);
    this.header = new Int32Array(new SharedArrayBuffer(nrAs * 2 * HEADER_WORDS * 4));
    for (let i = 0; i < nrAs * 2; i++) {
      const h = i * HEADER_WORDS;
      this.header.fill(NIL, h, h + HEADER_WORDS);
      this.header[h + H_NR] = 0;
    }
    for (let as = 0; as < nrAs; as++) {
      for (let set = 0; set < 2; set++) {
        const h = headerBase(as, set);
        this.gfnTrees.push(new RbTree({ arena: this.records, header: this.header, rootWord: h + H_GFN_ROOT, off: gfnNode(set) }));
        this.hvaTrees.push(new RbTree({
          arena: this.records, header: this.header, rootWord: h + H_HVA_ROOT, off: hvaNode(set),
          augment: { maxOff: hvaMax(set), last: (r) => slotHvaLast(this.f64(r, R_UADDR), this.i32(r, R_NPAGES)) },
        }));
      }
    }
  }

  // --- lookups on the active set ------------------------------------------------------------

  idToMemslot(asId: number, id: number): Memslot | undefined {
    const r = this.idLookup(asId, this.ctl.active(asId), id);
    return r === NIL ? undefined : this.toMemslot(r);
  }

  overlaps(asId: number, id: number, start: number, end: number): boolean {
    const set = this.ctl.active(asId);
    const tree = this.gfnTrees[asId * 2 + set];
    // kvm_for_each_memslot_in_gfn_range: start at the predecessor of the upper bound of `start`.
    let upper = NIL;
    for (let n = tree.root; n !== NIL;) {
      if (start < this.f64(n, R_BASE_GFN)) { upper = n; n = tree.left(n); } else n = tree.right(n);
    }
    let node = upper !== NIL ? (tree.prev(upper) !== NIL ? tree.prev(upper) : upper) : tree.last();
    if (node !== NIL && this.f64(node, R_BASE_GFN) + this.i32(node, R_NPAGES) <= start) node = tree.next(node);
    for (; node !== NIL && this.f64(node, R_BASE_GFN) < end; node = tree.next(node)) {
      if (this.i32(node, R_ID) !== id) return true;
    }
    return false;
  }

  list(asId: number): Memslot[] {
    const tree = this.gfnTrees[asId * 2 + this.ctl.active(asId)];
    const out: Memslot[] = [];
    for (let n = tree.first(tree.root); n !== NIL; n = tree.next(n)) out.push(this.toMemslot(n));
    return out;
  }

  // --- the steps of kvm_set_memslot ---------------------------------------------------------

  invalidate(old: Memslot): Memslot {
    const invalid: Memslot = { ...old, flags: old.flags | KVM_MEMSLOT_INVALID, ref: NIL };
    this.place(invalid);
    this.replaceMemslot(old, invalid);
    this.ctl.swap(old.asId, this.srcu);
    return invalid;
  }

  create(created: Memslot): void {
    this.place(created);
    this.replaceMemslot(null, created);
    this.activate(null, created);
  }

  delete(old: Memslot, invalid: Memslot): void {
    this.replaceMemslot(old, null);
    this.activate(invalid, null);
    this.freeRecord(invalid.ref);
    this.freeRecord(old.ref);
  }

  move(old: Memslot, moved: Memslot, invalid: Memslot): void {
    this.place(moved);
    this.replaceMemslot(old, moved);
    this.activate(invalid, moved);
    this.freeRecord(invalid.ref);
    this.freeRecord(old.ref);
  }

  updateFlags(old: Memslot, updated: Memslot): void {
    this.place(updated);
    this.replaceMemslot(old, updated);
    this.activate(old, updated);
    this.freeRecord(old.ref);
  }

  restore(invalid: Memslot, old: Memslot): void {
    this.activate(invalid, old);
    this.freeRecord(invalid.ref);
  }

  reader(): MemslotReader {
    return new TreeReader(this.ctl, this.header, this.records);
  }

  handle(): MemslotStoreHandle {
    return { kind: 'tree', buffers: [this.header.buffer as SharedArrayBuffer, this.records.buffer] };
  }

  bytes(): number {
    return this.header.byteLength + this.records.byteLength;
  }

  /** kvm_activate_memslot: publish the inactive set, then replay the change on the now-inactive one. */
  private activate(old: Memslot | null, fresh: Memslot | null): void {
    const as = (old ?? fresh)!.asId;
    this.ctl.swap(as, this.srcu);
    this.replaceMemslot(old, fresh);
  }

  /** kvm_replace_memslot: swap `old` for `fresh` in the inactive set of their address space. */
  private replaceMemslot(old: Memslot | null, fresh: Memslot | null): void {
    const as = (old ?? fresh)!.asId;
    const set = this.ctl.active(as) ^ 1;
    const h = headerBase(as, set);
    const gfnTree = this.gfnTrees[as * 2 + set];
    const hvaTree = this.hvaTrees[as * 2 + set];
    if (old) {
      this.hashDel(h, set, old.ref);
      hvaTree.erase(old.ref);
      if (this.header[h + H_LAST_USED] === old.ref) Atomics.store(this.header, h + H_LAST_USED, fresh ? fresh.ref : NIL);
      if (!fresh) {
        gfnTree.erase(old.ref);
        this.header[h + H_NR]--;
        return;
      }
    }
    fresh = fresh!;
    this.hashAdd(h, set, fresh.ref, fresh.id);
    this.hvaInsert(hvaTree, fresh.ref);
    if (old && old.baseGfn === fresh.baseGfn) {
      gfnTree.replace(old.ref, fresh.ref);
    } else {
      if (old) gfnTree.erase(old.ref);
      this.gfnInsert(gfnTree, fresh.ref);
    }
    if (!old) this.header[h + H_NR]++;
  }

  /** kvm_insert_gfn_node: slots never overlap in gfn, so a duplicate base is a bug (BUG() in the kernel). */
  private gfnInsert(tree: RbTree, ref: number): void {
    const key = this.f64(ref, R_BASE_GFN);
    let parent = NIL;
    let left = false;
    for (let n = tree.root; n !== NIL;) {
      parent = n;
      const k = this.f64(n, R_BASE_GFN);
      if (key < k) { left = true; n = tree.left(n); } else if (key > k) { left = false; n = tree.right(n); } else {
        throw new KvmError('EIO', `memslot gfn tree: duplicate base gfn ${key}`);
      }
    }
    tree.insert(ref, parent, left);
  }

  /** interval_tree_insert: keyed by start hva; equal starts go right. */
  private hvaInsert(tree: RbTree, ref: number): void {
    const key = this.f64(ref, R_UADDR);
    let parent = NIL;
    let left = false;
    for (let n = tree.root; n !== NIL;) {
      parent = n;
      left = key < this.f64(n, R_UADDR);
      n = left ? tree.left(n) : tree.right(n);
    }
    tree.insert(ref, parent, left);
  }

  private hashAdd(h: number, set: number, ref: number, id: number): void {
    const bucket = h + H_BUCKETS + idBucket(id);
    const head = this.header[bucket];
    const next = idNode(set);
    const i32 = this.records.i32;
    i32[rw(ref, next)] = head;
    i32[rw(ref, next + 1)] = NIL;
    if (head !== NIL) i32[rw(head, next + 1)] = ref;
    this.header[bucket] = ref;
  }

  private hashDel(h: number, set: number, ref: number): void {
    const link = idNode(set);
    const i32 = this.records.i32;
    const next = i32[rw(ref, link)];
    const prev = i32[rw(ref, link + 1)];
    if (prev !== NIL) i32[rw(prev, link)] = next;
    else this.header[h + H_BUCKETS + idBucket(this.i32(ref, R_ID))] = next;
    if (next !== NIL) i32[rw(next, link + 1)] = prev;
  }

  private idLookup(as: number, set: number, id: number): number {
    const link = idNode(set);
    const i32 = this.records.i32;
    for (let r = this.header[headerBase(as, set) + H_BUCKETS + idBucket(id)]; r !== NIL; r = i32[rw(r, link)]) {
      if (i32[rw(r, R_ID)] === id) return r;
    }
    return NIL;
  }

  /** Allocates a record for `s` and writes its fields (kzalloc + kvm_copy_memslot). */
  private place(s: Memslot): void {
    let ref = this.freeRecords.pop();
    if (ref === undefined) {
      ref = this.nextRecord;
      if (!this.records.ensure(rw(ref + 1, 0) * 4)) throw new KvmError('ENOMEM', 'memslot records exhausted');
      this.nextRecord++;
    }
    const i32 = this.records.i32;
    const f64 = this.records.f64;
    const b = rw(ref, 0);
    i32[b + R_ID] = s.id;
    i32[b + R_AS] = s.asId;
    i32[b + R_FLAGS] = s.flags;
    i32[b + R_NPAGES] = s.npages;
    i32[b + R_DIRTY] = s.dirtyBitmap;
    f64[(b + R_BASE_GFN) >> 1] = s.baseGfn;
    f64[(b + R_UADDR) >> 1] = s.userspaceAddr;
    Atomics.add(i32, b + R_STAMP, 1); // odd: live
    s.ref = ref;
  }

  /** kfree of a slot: only after a swap has made it unreachable to every SRCU reader. */
  private freeRecord(ref: number): void {
    Atomics.add(this.records.i32, rw(ref, R_STAMP), 1); // even: free
    this.freeRecords.push(ref);
  }

  private toMemslot(r: number): Memslot {
    return {
      id: this.i32(r, R_ID), asId: this.i32(r, R_AS), baseGfn: this.f64(r, R_BASE_GFN), npages: this.i32(r, R_NPAGES),
      userspaceAddr: this.f64(r, R_UADDR), flags: this.i32(r, R_FLAGS), dirtyBitmap: this.i32(r, R_DIRTY), ref: r,
    };
  }

  private i32(r: number, f: number): number {
    return this.records.i32[rw(r, f)];
  }

  private f64(r: number, f: number): number {
    return this.records.f64[rw(r, f) >> 1];
  }
}
