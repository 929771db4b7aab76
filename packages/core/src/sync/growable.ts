/**
 * A growable SharedArrayBuffer with fixed-length views. Length-tracking views are ~15x slower on
 * Node 20, so each thread keeps fixed views and remaps when the arena has grown. The first 64 bytes
 * are the arena's own header: word 0 is the committed length / 8, published by the writer after a
 * grow, so a reader's check is one Atomics.load instead of a byteLength call.
 */
/** Bytes the arena reserves for its header; users place data after them. */
export const ARENA_HEADER_BYTES = 64;
/** ARENA_HEADER_BYTES in Int32 words. */
export const ARENA_HEADER_WORDS = ARENA_HEADER_BYTES / 4;
const COMMITTED = 0;

/** A growable shared arena; only one writer thread grows it. */
export class GrowableArena {
  /** Int32 view of the whole current buffer. */
  i32!: Int32Array;
  /** Float64 view of the whole current buffer. */
  f64!: Float64Array;
  /** Byte view of the whole current buffer. */
  u8!: Uint8Array;
  private mapped = 0;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.remap();
  }

  /** A new arena of `initialBytes` (at least the header), growable to `maxBytes`. */
  static create(initialBytes: number, maxBytes: number): GrowableArena {
    const initial = Math.max(ARENA_HEADER_BYTES, Math.ceil(initialBytes / 8) * 8);
    const a = new GrowableArena(new SharedArrayBuffer(initial, { maxByteLength: Math.ceil(maxBytes / 8) * 8 }));
    Atomics.store(a.i32, COMMITTED, initial / 8);
    return a;
  }

  /** Readers: remap if the writer grew the buffer. Call after loading the pointer that led here. */
  refresh(): void {
    if (Atomics.load(this.i32, COMMITTED) !== this.mapped / 8) this.remap();
  }

  /** Writer: make at least `bytes` addressable, doubling; false if that exceeds the maximum. */
  ensure(bytes: number): boolean {
    if (bytes <= this.buffer.byteLength) return true;
    const max = this.buffer.maxByteLength;
    if (bytes > max) return false;
    let next = this.buffer.byteLength;
    while (next < bytes) next *= 2;
    this.buffer.grow(Math.min(max, Math.ceil(next / 8) * 8));
    this.remap();
    Atomics.store(this.i32, COMMITTED, this.mapped / 8);
    return true;
  }

  /** Bytes currently committed. */
  get byteLength(): number {
    return this.buffer.byteLength;
  }

  private remap(): void {
    this.mapped = this.buffer.byteLength;
    this.i32 = new Int32Array(this.buffer, 0, this.mapped / 4);
    this.f64 = new Float64Array(this.buffer, 0, this.mapped / 8);
    this.u8 = new Uint8Array(this.buffer, 0, this.mapped);
  }
}
