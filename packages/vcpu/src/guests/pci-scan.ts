/**
 * The `pci-scan` guest: PCI enumeration as Linux does it at boot over ECAM — pci_scan_slot on bus 0
 * (a 32-bit vendor-ID read of function 0 of each device; functions 1-7 behind a multifunction
 * header), then pcibios_fixup_peer_bridges probing the 16-bit vendor ID of every device on every
 * other bus. Absent functions read as all ones: each such read is a PCI-hole access.
 */
import type { GuestContext } from '../guest.js';

/** Arguments of the pci-scan guest. */
export interface PciScanArgs {
  ecamBase: number;
  buses: number;
  /** Writes to absent functions to issue after each scan (stray writes: they reach userspace unless swallowed). */
  strayWrites?: number;
  /** Scans to run; each but the last ends with a `sync` ucall carrying its figures (default 1). */
  rounds?: number;
}

/** Scans `rounds` times; each round reports [holeAccesses, functionsFound, configAccesses], the last one in `done`. */
export function pciScanGuest(ctx: GuestContext, args: unknown): number[] {
  const { ecamBase, buses, strayWrites = 0, rounds = 1 } = args as PciScanArgs;
  if (!Number.isSafeInteger(ecamBase) || !Number.isInteger(buses) || buses < 1 || buses > 256) {
    throw new TypeError('pci-scan needs args { ecamBase, buses (1..256) }');
  }
  if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError('pci-scan: rounds must be a positive integer');
  for (let r = 1; r < rounds; r++) ctx.ucall('sync', scan(ctx, ecamBase, buses, strayWrites));
  return scan(ctx, ecamBase, buses, strayWrites);
}

function scan(ctx: GuestContext, ecamBase: number, buses: number, strayWrites: number): number[] {
  const cfg = (bus: number, dev: number, fn: number, reg: number) => ecamBase + bus * 0x100000 + dev * 0x8000 + fn * 0x1000 + reg;
  let holes = 0;
  let found = 0;
  let accesses = 0;
  const probe = (bus: number, dev: number, fn: number): boolean => {
    accesses++;
    if ((ctx.read32(cfg(bus, dev, fn, 0x00)) & 0xffff) === 0xffff) {
      holes++;
      return false;
    }
    // A present function: class and header type, as pci_setup_device reads them.
    ctx.read32(cfg(bus, dev, fn, 0x08));
    accesses += 2;
    found++;
    return (ctx.read8(cfg(bus, dev, fn, 0x0e)) & 0x80) !== 0;
  };
  const busPresent = new Array<boolean>(buses).fill(false);
  busPresent[0] = true;
  for (let dev = 0; dev < 32; dev++) {
    if (probe(0, dev, 0)) for (let fn = 1; fn < 8; fn++) probe(0, dev, fn);
  }
  // pcibios_fixup_peer_bridges: buses the root scan did not find, up to pcibios_last_bus.
  for (let bus = 1; bus < buses; bus++) {
    if (busPresent[bus]) continue;
    for (let dev = 0; dev < 32; dev++) {
      accesses++;
      const l = ctx.read16(cfg(bus, dev, 0, 0x00));
      if (l === 0xffff || l === 0x0000) {
        if (l === 0xffff) holes++;
        continue;
      }
      found++;
    }
  }
  for (let i = 0; i < strayWrites; i++) ctx.write32(cfg(buses - 1, 31, 7, 0x10 + 4 * (i % 8)), 0xffffffff);
  return [holes, found, accesses];
}
