/**
 * The in-kernel MMIO bus (KVM_MMIO_BUS, as coalesced MMIO and ioeventfd use it): devices that answer
 * guest MMIO without an exit to userspace. Seed 003's reviewer proposed it for PCI holes: a range that
 * reads as a fill byte and can swallow writes. Two copies swapped under SRCU, as
 * kvm_io_bus_register_dev copies the bus and synchronizes. Layout: docs/mmu.md.
 */
import { check } from '../errors.js';
import type { Srcu } from '../srcu.js';

/** Devices on the bus at most (NR_IOBUS_DEVS). */
export const NR_IOBUS_DEVS = 1000;
/** The device completes guest writes itself instead of exiting to userspace. */
export const IOBUS_DISCARD_WRITES = 1;

const ACTIVE = 0;
const COUNT = 1; // +copy
const HEADER = 16;
const ENTRY = 8; // f64 gpa, f64 len, fill, flags, pad, pad
/** Bytes of the bus. */
export const IO_BUS_BYTES = (HEADER + 2 * NR_IOBUS_DEVS * ENTRY) * 4;

/** A device of the MMIO bus. */
export interface MmioBusDevice {
  gpa: number;
  len: number;
  /** The byte every read returns. */
  fill: number;
  /** Swallow writes (true) or let them exit to userspace (false). */
  discardWrites: boolean;
}

/** The bus, readable from any thread under the VM's SRCU read lock. */
export class IoBus {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(IO_BUS_BYTES)) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  /** kvm_io_bus_get_first_dev: the device covering [gpa, gpa + len), or -1 (sorted copy, binary search). */
  find(gpa: number, len: number): number {
    const copy = Atomics.load(this.i32, ACTIVE);
    const n = Atomics.load(this.i32, COUNT + copy);
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = HEADER + (copy * NR_IOBUS_DEVS + mid) * ENTRY;
      const start = this.f64[e >> 1];
      if (gpa < start) hi = mid - 1;
      else if (gpa + len > start + this.f64[(e + 2) >> 1]) lo = mid + 1;
      else return e;
    }
    return -1;
  }

  /** The fill byte of device entry `e`. */
  fill(e: number): number {
    return this.i32[e + 4];
  }

  /** Does device entry `e` swallow writes? */
  discardsWrites(e: number): boolean {
    return (this.i32[e + 5] & IOBUS_DISCARD_WRITES) !== 0;
  }

  /** The devices, ascending gpa. */
  list(): MmioBusDevice[] {
    const copy = Atomics.load(this.i32, ACTIVE);
    const out: MmioBusDevice[] = [];
    for (let i = 0, n = Atomics.load(this.i32, COUNT + copy); i < n; i++) {
      const e = HEADER + (copy * NR_IOBUS_DEVS + i) * ENTRY;
      out.push({ gpa: this.f64[e >> 1], len: this.f64[(e + 2) >> 1], fill: this.i32[e + 4], discardWrites: this.discardsWrites(e) });
    }
    return out;
  }

  /** kvm_io_bus_register_dev: publish a copy with `dev` added, then wait for readers of the old one. */
  register(dev: MmioBusDevice, srcu: Srcu): void {
    check(Number.isSafeInteger(dev.gpa) && dev.gpa >= 0 && Number.isSafeInteger(dev.len) && dev.len > 0, 'EINVAL', 'MMIO bus device: gpa and len must be integers, len > 0');
    check(Number.isInteger(dev.fill) && dev.fill >= 0 && dev.fill <= 0xff, 'EINVAL', 'MMIO bus device: fill must be a byte');
    const devs = this.list();
    check(devs.length < NR_IOBUS_DEVS, 'ENOMEM', () => `MMIO bus is full (${NR_IOBUS_DEVS} devices)`);
    check(devs.every((d) => dev.gpa + dev.len <= d.gpa || dev.gpa >= d.gpa + d.len), 'EEXIST', 'MMIO bus device overlaps another');
    this.publish([...devs, dev].sort((a, b) => a.gpa - b.gpa), srcu);
  }

  /** kvm_io_bus_unregister_dev. */
  unregister(gpa: number, srcu: Srcu): void {
    const devs = this.list();
    const rest = devs.filter((d) => d.gpa !== gpa);
    check(rest.length < devs.length, 'ENOENT', () => `no MMIO bus device at ${gpa}`);
    this.publish(rest, srcu);
  }

  private publish(devs: MmioBusDevice[], srcu: Srcu): void {
    const next = Atomics.load(this.i32, ACTIVE) ^ 1;
    devs.forEach((d, i) => {
      const e = HEADER + (next * NR_IOBUS_DEVS + i) * ENTRY;
      this.f64[e >> 1] = d.gpa;
      this.f64[(e + 2) >> 1] = d.len;
      this.i32[e + 4] = d.fill;
      this.i32[e + 5] = d.discardWrites ? IOBUS_DISCARD_WRITES : 0;
    });
    Atomics.store(this.i32, COUNT + next, devs.length);
    Atomics.store(this.i32, ACTIVE, next);
    srcu.synchronize();
  }
}
