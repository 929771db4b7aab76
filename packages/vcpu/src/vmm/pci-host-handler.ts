/** The built-in exit handler 'pci-host': ECAM accesses served by the userspace PCI host bridge. */
import { KVM_EXIT_MMIO } from '@vcpu-rt/core';
import { PciHost, type PciHostHandle } from '../machine/pci.js';
import { registerExitHandler } from './handlers.js';

registerExitHandler('pci-host', (args) => {
  const host = new PciHost(args as PciHostHandle);
  return (exit) => {
    if (exit.reason !== KVM_EXIT_MMIO || !host.claims(exit.mmio.physAddr)) return false;
    host.access(exit.mmio);
    return true;
  };
});
