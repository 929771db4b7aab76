/**
 * A q35-like machine for the PCI-hole study: an ECAM window whose absent functions are served by one
 * of the five strategies seeds 000, 001 and 003 discuss, and a userspace PCI host bridge for the rest.
 */
import { Kvm, KVM_MEM_PCI_HOLE, KVM_MEM_READONLY, PAGE_SIZE, type Vm } from '@vcpu-rt/core';
import type { VmmHandlerSpec } from '../vmm/handlers.js';
import { createPciHost, ecamOffset, PciHost, Q35_DEFAULT_DEVICES, type PciFunction, type PciHostHandle } from './pci.js';

/** How absent PCI functions are served. */
export type PciHoleStrategy = 'mmio-exit' | 'readonly-ff' | 'pci-hole' | 'allones' | 'mmio-bus';
/** The five strategies, in report order. */
export const PCI_HOLE_STRATEGIES: readonly PciHoleStrategy[] = ['mmio-exit', 'readonly-ff', 'pci-hole', 'allones', 'mmio-bus'];
/** q35's MMCONFIG base. */
export const Q35_ECAM_BASE = 0xb000_0000;

/** The machine's configuration. */
export interface Q35Options {
  strategy: PciHoleStrategy;
  /** Present functions (default: q35 under direct kernel boot). */
  devices?: PciFunction[];
  /** Buses the ECAM window decodes (default 256, q35's MCFG). */
  buses?: number;
  ecamBase?: number;
  /** mmio-bus: swallow stray writes in the kernel instead of letting them reach userspace (default false). */
  discardWrites?: boolean;
  /** Host physical memory of the VM (default 1 GiB). */
  hostMemoryBytes?: number;
}

/** Guest RAM below the ECAM window (slot 0), where the guest's code lives; untouched by the scan. */
export const Q35_RAM_BYTES = 16 << 20;

/** A q35-like VM, set up for one strategy. */
export class Q35Machine {
  readonly pci: PciHost;
  /** ECAM pages (index from the window start) of absent functions that a Linux scan reads. */
  readonly scanHolePages: number[];
  /** Maximal ranges [first, end) of ECAM pages with no present function. */
  readonly holeRanges: Array<[number, number]>;
  /** Memslots the strategy created (besides the RAM slot). */
  slots = 0;

  private constructor(readonly vm: Vm, readonly options: Required<Omit<Q35Options, 'hostMemoryBytes'>>, private readonly handle: PciHostHandle) {
    this.pci = new PciHost(handle);
    const present = new Set(options.devices.map((d) => ecamOffset(d.bus, d.dev, d.fn) / PAGE_SIZE));
    const pages = options.buses * 256;
    this.holeRanges = [];
    for (let p = 0; p < pages;) {
      if (present.has(p)) { p++; continue; }
      const start = p;
      while (p < pages && !present.has(p)) p++;
      this.holeRanges.push([start, p]);
    }
    // pci_scan_slot reads function 0 of every device; functions 1-7 only behind a multifunction header.
    const multi = new Set(options.devices.filter((d) => d.fn === 0 && d.multifunction).map((d) => `${d.bus}:${d.dev}`));
    this.scanHolePages = [];
    for (let bus = 0; bus < options.buses; bus++) {
      for (let dev = 0; dev < 32; dev++) {
        const fns = multi.has(`${bus}:${dev}`) ? 8 : 1;
        for (let fn = 0; fn < fns; fn++) {
          const page = ecamOffset(bus, dev, fn) / PAGE_SIZE;
          if (!present.has(page)) this.scanHolePages.push(page);
        }
      }
    }
  }

  /** Creates the VM and sets up the strategy (memslots, MMIO bus devices or nothing). */
  static create(options: Q35Options): Q35Machine {
    const o = {
      strategy: options.strategy, devices: options.devices ?? Q35_DEFAULT_DEVICES, buses: options.buses ?? 256,
      ecamBase: options.ecamBase ?? Q35_ECAM_BASE, discardWrites: options.discardWrites ?? false,
    };
    if (!PCI_HOLE_STRATEGIES.includes(o.strategy)) throw new TypeError(`strategy must be one of ${PCI_HOLE_STRATEGIES.join(', ')}`);
    const vm = new Kvm().createVm({
      pciHole: o.strategy === 'allones' ? 'allones' : 'emulate',
      ...(options.hostMemoryBytes ? { hostMemoryBytes: options.hostMemoryBytes } : {}),
    });
    const m = new Q35Machine(vm, o, createPciHost(o.ecamBase, o.buses, o.devices));
    m.setup();
    return m;
  }

  /** The in-thread exit handler every vCPU of this machine needs: the PCI host bridge. */
  vmmHandlers(): VmmHandlerSpec[] {
    return [{ handler: 'pci-host', args: this.handle }];
  }

  /** The pci-scan guest's arguments for this machine. */
  scanArgs(strayWrites = 0, rounds = 1): { ecamBase: number; buses: number; strayWrites: number; rounds: number } {
    return { ecamBase: this.options.ecamBase, buses: this.options.buses, strayWrites, rounds };
  }

  /** Host memory the strategy costs: populated VMM pages plus pages the kernel allocated. */
  hostBytes(): number {
    return this.vm.host.residentBytes() + this.vm.host.kernelBytes();
  }

  private setup(): void {
    const { vm } = this;
    const base = this.options.ecamBase;
    // RAM: mapped lazily, so it costs host memory only where the guest touches it (the scan does not).
    vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: Q35_RAM_BYTES, userspaceAddr: vm.host.mmap(Q35_RAM_BYTES) });
    let id = 1;
    switch (this.options.strategy) {
      case 'mmio-exit':
        return; // no slot: every ECAM access exits
      case 'readonly-ff': {
        // The VMM backs every hole page a scan reads with its own 0xff-filled, read-only memory.
        const n = this.scanHolePages.length;
        const hva = vm.host.mmap(n * PAGE_SIZE);
        vm.host.write(hva, new Uint8Array(n * PAGE_SIZE).fill(0xff));
        for (let i = 0; i < n;) {
          let j = i + 1;
          while (j < n && this.scanHolePages[j] === this.scanHolePages[j - 1] + 1) j++;
          vm.setUserMemoryRegion({
            slot: id++, flags: KVM_MEM_READONLY, guestPhysAddr: base + this.scanHolePages[i] * PAGE_SIZE,
            memorySize: (j - i) * PAGE_SIZE, userspaceAddr: hva + i * PAGE_SIZE,
          });
          i = j;
        }
        break;
      }
      case 'pci-hole':
      case 'allones':
        for (const [s, e] of this.holeRanges) {
          vm.setUserMemoryRegion({ slot: id++, flags: KVM_MEM_PCI_HOLE, guestPhysAddr: base + s * PAGE_SIZE, memorySize: (e - s) * PAGE_SIZE, userspaceAddr: 0 });
        }
        break;
      case 'mmio-bus':
        for (const [s, e] of this.holeRanges) {
          vm.registerMmioDevice({ gpa: base + s * PAGE_SIZE, len: (e - s) * PAGE_SIZE, fill: 0xff, discardWrites: this.options.discardWrites });
        }
        break;
    }
    this.slots = id - 1;
  }
}
