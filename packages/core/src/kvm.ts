/** /dev/kvm: system capabilities and VM creation. */
import { checkExtension } from './vm/caps.js';
import { Vm, type VmOptions } from './vm/vm.js';

const NONE: ReadonlySet<number> = new Set();

/** The KVM device. */
export class Kvm {
  /** KVM_CHECK_EXTENSION on /dev/kvm. */
  checkExtension(cap: number): number {
    return checkExtension(cap, NONE);
  }

  /** KVM_CREATE_VM. */
  createVm(options?: VmOptions): Vm {
    return new Vm(options);
  }
}
