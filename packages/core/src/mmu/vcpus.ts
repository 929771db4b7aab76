/**
 * The VM's vCPU table as the MMU needs it: each vCPU's mode (vcpu->mode) and pending requests
 * (vcpu->requests), so that a zap can make every vCPU flush its TLB and wait until it has
 * (kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH) with wait). Layout: docs/mmu.md.
 */
/** Most vCPUs per VM in this model. */
export const KVM_MAX_VCPUS = 512;
/** vcpu->mode: in KVM or userspace; its TLB is flushed before it enters the guest again. */
export const OUTSIDE_GUEST_MODE = 0;
/** vcpu->mode: running guest code; it must acknowledge requests. */
export const IN_GUEST_MODE = 1;
/** Request: flush the vCPU's TLB (KVM_REQ_TLB_FLUSH). */
export const KVM_REQ_TLB_FLUSH = 1 << 0;

const HWM = 0;
const HEADER = 16;
const WORDS = 16; // one cache line per vCPU
const V_IN_USE = 0;
const V_MODE = 1;
const V_REQUESTS = 2;
/** Bytes of the vCPU table. */
export const VCPUS_BYTES = (HEADER + KVM_MAX_VCPUS * WORDS) * 4;

/** One vCPU's mode and request words, as its own thread uses them. */
export class VcpuRequests {
  constructor(private readonly w: Int32Array, private readonly base: number) {}

  /** Enters guest mode; returns the requests to handle first (checked after the mode store, as the kernel does). */
  enterGuest(): number {
    Atomics.store(this.w, this.base + V_MODE, IN_GUEST_MODE);
    return Atomics.load(this.w, this.base + V_REQUESTS);
  }

  /** Leaves guest mode (an exit). */
  exitGuest(): void {
    Atomics.store(this.w, this.base + V_MODE, OUTSIDE_GUEST_MODE);
  }

  /** Pending requests. */
  pending(): number {
    return Atomics.load(this.w, this.base + V_REQUESTS);
  }

  /** Acknowledges `req` after handling it; wakes a waiting requester. */
  ack(req: number): void {
    Atomics.and(this.w, this.base + V_REQUESTS, ~req);
    Atomics.notify(this.w, this.base + V_REQUESTS);
  }

  /** Gives the vCPU's line back. */
  release(): void {
    this.exitGuest();
    Atomics.store(this.w, this.base + V_REQUESTS, 0);
    Atomics.store(this.w, this.base + V_IN_USE, 0);
  }
}

/** The table of a VM's vCPUs. */
export class VcpuTable {
  private readonly w: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(VCPUS_BYTES)) {
    this.w = new Int32Array(buffer);
  }

  /** Claims the line of vCPU `id`; throws if it is taken. */
  claim(id: number): VcpuRequests {
    if (!Number.isInteger(id) || id < 0 || id >= KVM_MAX_VCPUS) throw new RangeError(`vcpu id must be an integer in [0, ${KVM_MAX_VCPUS})`);
    const base = HEADER + id * WORDS;
    if (Atomics.compareExchange(this.w, base + V_IN_USE, 0, 1) !== 0) throw new Error(`vcpu ${id} already exists`);
    Atomics.store(this.w, base + V_REQUESTS, 0);
    for (let h = Atomics.load(this.w, HWM); h < id + 1; h = Atomics.load(this.w, HWM)) {
      if (Atomics.compareExchange(this.w, HWM, h, id + 1) === h) break;
    }
    return new VcpuRequests(this.w, base);
  }

  /** Frees the line of a vCPU whose thread died without releasing it. */
  reclaim(id: number): void {
    const b = HEADER + id * WORDS;
    Atomics.store(this.w, b + V_MODE, OUTSIDE_GUEST_MODE);
    Atomics.store(this.w, b + V_REQUESTS, 0);
    Atomics.notify(this.w, b + V_REQUESTS);
    Atomics.store(this.w, b + V_IN_USE, 0);
  }

  /** vCPU lines in use now. */
  live(): number {
    let n = 0;
    const hwm = Atomics.load(this.w, HWM);
    for (let i = 0; i < hwm; i++) if (Atomics.load(this.w, HEADER + i * WORDS + V_IN_USE)) n++;
    return n;
  }

  /** Is vCPU `id`'s line free (never claimed, or released by its thread)? */
  isFree(id: number): boolean {
    return Atomics.load(this.w, HEADER + id * WORDS + V_IN_USE) === 0;
  }

  /**
   * kvm_make_all_cpus_request(req) with wait: posts `req` to every vCPU and returns once each has
   * acknowledged it or is outside guest mode (it handles requests before it re-enters).
   */
  requestAll(req: number): void {
    const w = this.w;
    const hwm = Atomics.load(w, HWM);
    for (let i = 0; i < hwm; i++) {
      const b = HEADER + i * WORDS;
      if (Atomics.load(w, b + V_IN_USE)) Atomics.or(w, b + V_REQUESTS, req);
    }
    for (let i = 0; i < hwm; i++) {
      const b = HEADER + i * WORDS;
      for (let spin = 0; ; spin++) {
        const r = Atomics.load(w, b + V_REQUESTS);
        if (!(r & req) || Atomics.load(w, b + V_MODE) !== IN_GUEST_MODE || !Atomics.load(w, b + V_IN_USE)) break;
        if (spin > 200) Atomics.wait(w, b + V_REQUESTS, r, 1);
      }
    }
  }
}
