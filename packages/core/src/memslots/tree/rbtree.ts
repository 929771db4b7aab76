/**
 * A red-black tree whose nodes live in slot records of a shared arena (lib/rbtree.c's role).
 * One instance per (set, tree): `off` selects the node words inside a record. With `augmented`,
 * each node also keeps the max inclusive `last` of its subtree (the hva interval tree).
 */
import type { GrowableArena } from '../../sync/growable.js';
import { rw } from './layout.js';

const L = 0;
const R = 1;
const P = 2;
const C = 3;
const RED = 0;
const BLACK = 1;
/** Null node. */
export const NIL = -1;

/** Where a tree's root word lives, and how to read a node's interval `last` when augmented. */
export interface RbTreeConfig {
  arena: GrowableArena;
  header: Int32Array;
  rootWord: number;
  /** Word offset of this tree's node inside a record. */
  off: number;
  /** Augmented trees: word offset (even) of the f64 subtree max inside a record, and a node's own last. */
  augment?: { maxOff: number; last: (ref: number) => number };
}

/** Tree surgery for one tree of one memslot set. Only the writer (slots_lock) calls these. */
export class RbTree {
  constructor(private readonly cfg: RbTreeConfig) {}

  get root(): number {
    return this.cfg.header[this.cfg.rootWord];
  }

  private set root(v: number) {
    Atomics.store(this.cfg.header, this.cfg.rootWord, v);
  }

  private w(ref: number, f: number): number {
    return rw(ref, this.cfg.off + f);
  }

  left(n: number): number { return this.cfg.arena.i32[this.w(n, L)]; }
  right(n: number): number { return this.cfg.arena.i32[this.w(n, R)]; }
  parent(n: number): number { return this.cfg.arena.i32[this.w(n, P)]; }
  private color(n: number): number { return n === NIL ? BLACK : this.cfg.arena.i32[this.w(n, C)]; }
  private setL(n: number, v: number): void { this.cfg.arena.i32[this.w(n, L)] = v; }
  private setR(n: number, v: number): void { this.cfg.arena.i32[this.w(n, R)] = v; }
  private setP(n: number, v: number): void { this.cfg.arena.i32[this.w(n, P)] = v; }
  private setC(n: number, v: number): void { this.cfg.arena.i32[this.w(n, C)] = v; }

  /** rb_link_node + rb_insert_color: hang `node` under `parent` (NIL: as root) and rebalance. */
  insert(node: number, parent: number, asLeft: boolean): void {
    this.setL(node, NIL);
    this.setR(node, NIL);
    this.setP(node, parent);
    this.setC(node, RED);
    if (parent === NIL) this.root = node;
    else if (asLeft) this.setL(parent, node);
    else this.setR(parent, node);
    if (this.cfg.augment) this.propagate(node);
    this.insertFixup(node);
  }

  /** rb_replace_node: `fresh` takes `victim`'s place (same key), without rebalancing. */
  replace(victim: number, fresh: number): void {
    const p = this.parent(victim);
    const l = this.left(victim);
    const r = this.right(victim);
    this.setL(fresh, l);
    this.setR(fresh, r);
    this.setP(fresh, p);
    this.setC(fresh, this.color(victim));
    if (p === NIL) this.root = fresh;
    else if (this.left(p) === victim) this.setL(p, fresh);
    else this.setR(p, fresh);
    if (l !== NIL) this.setP(l, fresh);
    if (r !== NIL) this.setP(r, fresh);
    if (this.cfg.augment) this.propagate(fresh);
  }

  /** rb_erase. */
  erase(z: number): void {
    let y = z;
    let yColor = this.color(y);
    let x: number;
    let xParent: number;
    if (this.left(z) === NIL) {
      x = this.right(z);
      xParent = this.parent(z);
      this.transplant(z, x);
    } else if (this.right(z) === NIL) {
      x = this.left(z);
      xParent = this.parent(z);
      this.transplant(z, x);
    } else {
      y = this.first(this.right(z));
      yColor = this.color(y);
      x = this.right(y);
      if (this.parent(y) === z) {
        xParent = y;
      } else {
        xParent = this.parent(y);
        this.transplant(y, x);
        this.setR(y, this.right(z));
        this.setP(this.right(y), y);
      }
      this.transplant(z, y);
      this.setL(y, this.left(z));
      this.setP(this.left(y), y);
      this.setC(y, this.color(z));
    }
    if (this.cfg.augment && xParent !== NIL) this.propagate(xParent);
    if (yColor === BLACK) this.eraseFixup(x, xParent);
  }

  /** Leftmost node of the subtree at `n`. */
  first(n: number): number {
    if (n === NIL) return NIL;
    for (let l = this.left(n); l !== NIL; l = this.left(n)) n = l;
    return n;
  }

  /** Rightmost node of the tree (rb_last). */
  last(): number {
    let n = this.root;
    if (n === NIL) return NIL;
    for (let r = this.right(n); r !== NIL; r = this.right(n)) n = r;
    return n;
  }

  /** In-order successor (rb_next). */
  next(n: number): number {
    if (this.right(n) !== NIL) return this.first(this.right(n));
    let p = this.parent(n);
    while (p !== NIL && n === this.right(p)) { n = p; p = this.parent(p); }
    return p;
  }

  /** In-order predecessor (rb_prev). */
  prev(n: number): number {
    if (this.left(n) !== NIL) {
      n = this.left(n);
      for (let r = this.right(n); r !== NIL; r = this.right(n)) n = r;
      return n;
    }
    let p = this.parent(n);
    while (p !== NIL && n === this.left(p)) { n = p; p = this.parent(p); }
    return p;
  }

  private transplant(u: number, v: number): void {
    const p = this.parent(u);
    if (p === NIL) this.root = v;
    else if (u === this.left(p)) this.setL(p, v);
    else this.setR(p, v);
    if (v !== NIL) this.setP(v, p);
  }

  private rotateLeft(x: number): void {
    const y = this.right(x);
    const yl = this.left(y);
    this.setR(x, yl);
    if (yl !== NIL) this.setP(yl, x);
    this.transplant(x, y);
    this.setL(y, x);
    this.setP(x, y);
    if (this.cfg.augment) { this.recompute(x); this.recompute(y); }
  }

  private rotateRight(x: number): void {
    const y = this.left(x);
    const yr = this.right(y);
    this.setL(x, yr);
    if (yr !== NIL) this.setP(yr, x);
    this.transplant(x, y);
    this.setR(y, x);
    this.setP(x, y);
    if (this.cfg.augment) { this.recompute(x); this.recompute(y); }
  }

  private insertFixup(z: number): void {
    for (let p = this.parent(z); p !== NIL && this.color(p) === RED; p = this.parent(z)) {
      const g = this.parent(p);
      if (p === this.left(g)) {
        const u = this.right(g);
        if (this.color(u) === RED) {
          this.setC(p, BLACK); this.setC(u, BLACK); this.setC(g, RED);
          z = g;
        } else {
          if (z === this.right(p)) { z = p; this.rotateLeft(z); }
          const zp = this.parent(z);
          this.setC(zp, BLACK); this.setC(g, RED);
          this.rotateRight(g);
        }
      } else {
        const u = this.left(g);
        if (this.color(u) === RED) {
          this.setC(p, BLACK); this.setC(u, BLACK); this.setC(g, RED);
          z = g;
        } else {
          if (z === this.left(p)) { z = p; this.rotateRight(z); }
          const zp = this.parent(z);
          this.setC(zp, BLACK); this.setC(g, RED);
          this.rotateLeft(g);
        }
      }
    }
    this.setC(this.root, BLACK);
  }

  private eraseFixup(x: number, parent: number): void {
    while (x !== this.root && this.color(x) === BLACK && parent !== NIL) {
      if (x === this.left(parent)) {
        let w = this.right(parent);
        if (this.color(w) === RED) {
          this.setC(w, BLACK); this.setC(parent, RED);
          this.rotateLeft(parent);
          w = this.right(parent);
        }
        if (this.color(this.left(w)) === BLACK && this.color(this.right(w)) === BLACK) {
          this.setC(w, RED);
          x = parent;
          parent = this.parent(x);
        } else {
          if (this.color(this.right(w)) === BLACK) {
            this.setC(this.left(w), BLACK); this.setC(w, RED);
            this.rotateRight(w);
            w = this.right(parent);
          }
          this.setC(w, this.color(parent)); this.setC(parent, BLACK);
          if (this.right(w) !== NIL) this.setC(this.right(w), BLACK);
          this.rotateLeft(parent);
          x = this.root;
          parent = NIL;
        }
      } else {
        let w = this.left(parent);
        if (this.color(w) === RED) {
          this.setC(w, BLACK); this.setC(parent, RED);
          this.rotateRight(parent);
          w = this.left(parent);
        }
        if (this.color(this.right(w)) === BLACK && this.color(this.left(w)) === BLACK) {
          this.setC(w, RED);
          x = parent;
          parent = this.parent(x);
        } else {
          if (this.color(this.left(w)) === BLACK) {
            this.setC(this.right(w), BLACK); this.setC(w, RED);
            this.rotateLeft(w);
            w = this.left(parent);
          }
          this.setC(w, this.color(parent)); this.setC(parent, BLACK);
          if (this.left(w) !== NIL) this.setC(this.left(w), BLACK);
          this.rotateRight(parent);
          x = this.root;
          parent = NIL;
        }
      }
    }
    if (x !== NIL) this.setC(x, BLACK);
  }

  /** Subtree max of `n` from its own last and its children's maxima. */
  private recompute(n: number): void {
    const aug = this.cfg.augment!;
    const f64 = this.cfg.arena.f64;
    let m = aug.last(n);
    const l = this.left(n);
    const r = this.right(n);
    if (l !== NIL) m = Math.max(m, f64[rw(l, aug.maxOff) >> 1]);
    if (r !== NIL) m = Math.max(m, f64[rw(r, aug.maxOff) >> 1]);
    f64[rw(n, aug.maxOff) >> 1] = m;
  }

  /** Recompute subtree maxima from `n` up to the root. */
  private propagate(n: number): void {
    for (; n !== NIL; n = this.parent(n)) this.recompute(n);
  }
}
