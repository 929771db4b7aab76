/**
 * Setting a `vm` step's VM up with the library, in the order a VMM does: KVM_CREATE_VM, enable
 * capabilities, mmap the regions, then KVM_SET_USER_MEMORY_REGION for each memslot. An engine error
 * is reported at the scenario entry that caused it.
 */
import { Kvm, type Vm } from '@vcpu-rt/core';
import { engineRule, stepError, type StepContext } from '../run/context.js';
import { CAP_ARG_FLAGS, CAPS, memslotFlags } from '../schema/vm-names.js';
import type { VmStep } from '../schema/vm.js';

/** A mapped region: its host address and size. */
export interface MappedRegion {
  hva: number;
  size: number;
}

/** The VM of a step, ready for vCPUs. */
export interface BuiltVm {
  vm: Vm;
  regions: Map<string, MappedRegion>;
  hostMemory: number;
  /** KVM_GET_DIRTY_LOG leaves the bitmap for KVM_CLEAR_DIRTY_LOG (manual protection enabled). */
  manualProtect: boolean;
  /** Memslots created at set-up. */
  memslots: number;
}

/** Host memory of the step: as given, else the regions' total plus 16M, at least 64M, at most 4G. */
export function hostMemoryOf(step: VmStep): number {
  if (step.hostMemory !== undefined) return step.hostMemory;
  const total = step.regions.reduce((s, r) => s + r.size, 0);
  return Math.min(2 ** 32, Math.max(64 << 20, Math.ceil((total + (16 << 20)) / (1 << 20)) << 20));
}

/** Creates the VM, its regions and memslots; closes it again if any of that fails. */
export function buildVm(ctx: StepContext, step: VmStep, design: 'tree' | 'array'): BuiltVm {
  const hostMemory = hostMemoryOf(step);
  let vm: Vm;
  try {
    vm = new Kvm().createVm({ memslots: design, addressSpaces: step.addressSpaces, disabledCaps: step.disabledCaps.map((c) => CAPS[c]), hostMemoryBytes: hostMemory });
  } catch (e) {
    throw stepError(ctx, step.disabledCaps.length ? ['disabledCaps'] : ['kind'], engineRule(e));
  }
  try {
    let manualProtect = false;
    step.enableCaps.forEach((c, i) => {
      const arg = c.flags.reduce((f, n) => f | CAP_ARG_FLAGS[n], 0);
      try {
        vm.enableCap(CAPS[c.cap], [arg]);
      } catch (e) {
        throw stepError(ctx, ['enableCaps', i], engineRule(e));
      }
      if (c.cap === 'KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2' && (arg & CAP_ARG_FLAGS.KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) manualProtect = true;
    });
    const regions = new Map<string, MappedRegion>();
    step.regions.forEach((r, i) => {
      try {
        const memfd = r.memfd ? vm.host.memfdCreate(r.size) : undefined;
        regions.set(r.name, { hva: vm.host.mmap(r.size, { populate: r.populate, ...(memfd ? { memfd } : {}) }), size: r.size });
      } catch (e) {
        throw stepError(ctx, ['regions', i], engineRule(e));
      }
    });
    let memslots = 0;
    step.memslots.forEach((m, i) => {
      const base = m.region === undefined ? undefined : regions.get(m.region)!.hva + m.offset;
      for (let k = 0; k < m.count; k++) {
        try {
          vm.setUserMemoryRegion({
            slot: (m.asId << 16) | (m.slot + k), flags: memslotFlags(m.flags), guestPhysAddr: m.gpa + k * m.size,
            memorySize: m.size, userspaceAddr: base === undefined ? 0 : base + k * m.size,
          });
          memslots++;
        } catch (e) {
          throw stepError(ctx, ['memslots', i], `${m.count > 1 ? `slot ${m.slot + k} (number ${k + 1} of ${m.count}): ` : ''}${engineRule(e)}`);
        }
      }
    });
    return { vm, regions, hostMemory, manualProtect, memslots };
  } catch (e) {
    void vm.close();
    throw e;
  }
}
