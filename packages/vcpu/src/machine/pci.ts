/**
 * PCI configuration space of the q35-like machine, in SharedArrayBuffers so that the PCI host
 * bridge can serve it from any vCPU thread under the big lock (QEMU's BQL). ECAM (PCIe MMCONFIG)
 * addressing: bus << 20 | device << 15 | function << 12 | register.
 */
import { SabMutex as SabMutexView } from '@vcpu-rt/core';

/** Bytes of one function's configuration space (PCIe extended). */
export const CONFIG_SPACE = 4096;
/** ECAM bytes per bus. */
export const ECAM_BUS_BYTES = 1 << 20;
/** Register offsets of the type-0 header. */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_CLASS_REVISION = 0x08;
export const PCI_HEADER_TYPE = 0x0e;
/** Header type bit: the device has more than one function. */
export const PCI_HEADER_TYPE_MULTI = 0x80;

/** A present PCI function. */
export interface PciFunction {
  bus: number;
  dev: number;
  fn: number;
  vendor: number;
  device: number;
  /** Class code (24 bits: class, subclass, prog-if). */
  classCode: number;
  /** Set on function 0 of a multifunction device. */
  multifunction?: boolean;
  name?: string;
}

/** The ECAM offset of a function's configuration page. */
export function ecamOffset(bus: number, dev: number, fn: number): number {
  return bus * ECAM_BUS_BYTES + dev * (1 << 15) + fn * CONFIG_SPACE;
}

/** The default q35 topology under direct kernel boot: everything on bus 0, LPC/SATA/SMBus at 1f. */
export const Q35_DEFAULT_DEVICES: PciFunction[] = [
  { bus: 0, dev: 0x00, fn: 0, vendor: 0x8086, device: 0x29c0, classCode: 0x060000, name: 'host bridge (MCH)' },
  { bus: 0, dev: 0x01, fn: 0, vendor: 0x1234, device: 0x1111, classCode: 0x030000, name: 'VGA' },
  { bus: 0, dev: 0x02, fn: 0, vendor: 0x8086, device: 0x10d3, classCode: 0x020000, name: 'e1000e NIC' },
  { bus: 0, dev: 0x1f, fn: 0, vendor: 0x8086, device: 0x2918, classCode: 0x060100, multifunction: true, name: 'ICH9 LPC' },
  { bus: 0, dev: 0x1f, fn: 2, vendor: 0x8086, device: 0x2922, classCode: 0x010601, name: 'ICH9 AHCI' },
  { bus: 0, dev: 0x1f, fn: 3, vendor: 0x8086, device: 0x2930, classCode: 0x0c0500, name: 'ICH9 SMBus' },
];

/** The shared state of the PCI host bridge: device directory, config spaces, big lock, error counters. */
export interface PciHostHandle {
  ecamBase: number;
  buses: number;
  /** Per (bus, dev, fn): index + 1 of the function's config space, 0 if absent. */
  directory: SharedArrayBuffer;
  config: SharedArrayBuffer;
  /** Word 0: the big lock. Word 1: unsupported requests (AER UR) recorded by the root port. Word 2: config accesses served. */
  state: SharedArrayBuffer;
}

const BQL = 0;
const AER_UR = 1;
const SERVED = 2;

/** Builds the host bridge's shared state for a topology. */
export function createPciHost(ecamBase: number, buses: number, devices: readonly PciFunction[]): PciHostHandle {
  const directory = new Int32Array(new SharedArrayBuffer(buses * 256 * 4));
  const config = new Uint8Array(new SharedArrayBuffer(Math.max(1, devices.length) * CONFIG_SPACE));
  devices.forEach((d, i) => {
    if (d.bus >= buses || d.dev > 31 || d.fn > 7) throw new RangeError(`PCI function ${d.bus}:${d.dev}.${d.fn} is outside the topology`);
    directory[d.bus * 256 + d.dev * 8 + d.fn] = i + 1;
    const cfg = new DataView(config.buffer, i * CONFIG_SPACE, CONFIG_SPACE);
    cfg.setUint16(PCI_VENDOR_ID, d.vendor, true);
    cfg.setUint16(PCI_DEVICE_ID, d.device, true);
    cfg.setUint32(PCI_CLASS_REVISION, (d.classCode << 8) | 1, true);
    cfg.setUint8(PCI_HEADER_TYPE, d.multifunction ? PCI_HEADER_TYPE_MULTI : 0);
  });
  return {
    ecamBase, buses, directory: directory.buffer as SharedArrayBuffer, config: config.buffer as SharedArrayBuffer,
    state: new SharedArrayBuffer(16),
  };
}

/** The PCI host bridge's ECAM decoder, as the VMM runs it in any thread. */
export class PciHost {
  private readonly dir: Int32Array;
  private readonly cfg: DataView;
  private readonly state: Int32Array;
  private readonly bql: SabMutexView;

  constructor(readonly h: PciHostHandle) {
    this.dir = new Int32Array(h.directory);
    this.cfg = new DataView(h.config);
    this.state = new Int32Array(h.state);
    this.bql = new SabMutexView(this.state, BQL);
  }

  /** Does `gpa` fall in the ECAM window? */
  claims(gpa: number): boolean {
    return gpa >= this.h.ecamBase && gpa < this.h.ecamBase + this.h.buses * ECAM_BUS_BYTES;
  }

  /** The config-space index of the function at ECAM offset `off`, or -1. */
  functionAt(off: number): number {
    return this.dir[Math.floor(off / CONFIG_SPACE)] - 1;
  }

  /** A config read: present functions answer from their config space, absent ones master-abort (all ones). */
  read(gpa: number, len: number, out: Uint8Array): void {
    const off = gpa - this.h.ecamBase;
    this.bql.lock();
    try {
      const f = this.functionAt(off);
      if (f < 0) {
        out.fill(0xff, 0, len);
        return;
      }
      Atomics.add(this.state, SERVED, 1);
      const base = f * CONFIG_SPACE + (off % CONFIG_SPACE);
      for (let i = 0; i < len; i++) out[i] = this.cfg.getUint8(base + i);
    } finally {
      this.bql.unlock();
    }
  }

  /** A config write: absent functions make the root port record an unsupported request (AER UR). */
  write(gpa: number, len: number, data: Uint8Array): void {
    const off = gpa - this.h.ecamBase;
    this.bql.lock();
    try {
      const f = this.functionAt(off);
      if (f < 0) {
        Atomics.add(this.state, AER_UR, 1);
        return;
      }
      Atomics.add(this.state, SERVED, 1);
      const reg = off % CONFIG_SPACE;
      // The identification registers and header type are read-only.
      if (reg < 0x10) return;
      const base = f * CONFIG_SPACE + reg;
      for (let i = 0; i < len; i++) this.cfg.setUint8(base + i, data[i]);
    } finally {
      this.bql.unlock();
    }
  }

  /** Serves an MMIO exit in the ECAM window: a config write, or a read into `data`. */
  access(mmio: { physAddr: number; len: number; isWrite: boolean; data: Uint8Array }): void {
    if (mmio.isWrite) this.write(mmio.physAddr, mmio.len, mmio.data);
    else this.read(mmio.physAddr, mmio.len, mmio.data);
  }

  /** Unsupported requests the root port has recorded (stray writes to holes). */
  aerUnsupportedRequests(): number {
    return Atomics.load(this.state, AER_UR);
  }

  /** Config accesses to present functions served. */
  served(): number {
    return Atomics.load(this.state, SERVED);
  }
}
