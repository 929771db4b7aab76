/**
 * A growable SharedArrayBuffer with fixed-length views. Length-tracking views are ~15x slower on
 * Node 20, so each thread keeps fixed views and remaps when the shared byteLength has changed.
 */
export class GrowableArena {
  /** Int32 view of the whole current buffer. */
  i32: Int32Array;
  /** Float64 view of the whole current buffer. */
  f64: Float64Array;
  /** Byte view of the whole current buffer. */
  u8: Uint8Array;
  private mapped: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.mapped = buffer.byteLength;
    this.i32 = new Int32Array(buffer, 0, this.mapped >> 2);
    this.f64 = new Float64Array(buffer, 0, this.mapped >> 3);
    this.u8 = new Uint8Array(buffer, 0, this.mapped);
  }

  /** A new arena of `initialBytes`, growable to `maxBytes` (both multiples of 8). */
  static create(initialBytes: number, maxBytes: number): GrowableArena {
    return new GrowableArena(new SharedArrayBuffer(initialBytes, { maxByteLength: maxBytes }));
  }

  /** Readers: remap if another thread grew the buffer. Call after loading the pointer that led here. */
  refresh(): void {
    if (this.buffer.byteLength !== this.mapped) this.remap();
  }

  /** Writer: make at least `bytes` addressable, doubling; false if that exceeds the maximum. */
  ensure(bytes: number): boolean {
    if (bytes <= this.buffer.byteLength) {
      this.refresh();
      return true;
    }
    const max = this.buffer.maxByteLength;
    if (bytes > max) return false;
    let next = Math.max(this.buffer.byteLength, 64);
    while (next < bytes) next *= 2;
    this.buffer.grow(Math.min(max, Math.ceil(next / 8) * 8));
    this.remap();
    return true;
  }

  /** Bytes currently committed. */
  get byteLength(): number {
    return this.buffer.byteLength;
  }

  private remap(): void {
    this.mapped = this.buffer.byteLength;
    this.i32 = new Int32Array(this.buffer, 0, this.mapped >> 2);
    this.f64 = new Float64Array(this.buffer, 0, this.mapped >> 3);
    this.u8 = new Uint8Array(this.buffer, 0, this.mapped);
  }
}
