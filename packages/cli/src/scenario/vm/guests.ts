/** A `vm` step's vCPU entries expanded into vCPUs: ids, and each guest's spec with its arguments. */
import { PAGE_SIZE } from '@vcpu-rt/core';
import type { GuestSpec } from '@vcpu-rt/vcpu';
import { modulePath } from '../modules.js';
import type { VmStep } from '../schema/vm.js';

/** One vCPU to create. */
export interface PlannedVcpu {
  id: number;
  /** Index of its entry in `vcpus`. */
  entry: number;
  spec: GuestSpec;
  /** How the report names the guest. */
  guestName: string;
  runPollNs: number;
  /** Its syncs carry [round, accesses] (memstress). */
  countsAccesses: boolean;
}

/** Rounds of a memstress guest that runs until the step ends: more than any step can finish. */
const FOREVER = 2 ** 31 - 1;

/** Where memstress vCPU `k` of `count` works: its share of a memslot, or its own run of pages from gpa. */
function memstressRange(step: VmStep, args: { slot?: number; gpa?: number; pages?: number }, k: number, count: number): { gpa: number; pages: number } {
  if (args.slot === undefined) return { gpa: args.gpa! + k * args.pages! * PAGE_SIZE, pages: args.pages! };
  const m = step.memslots.find((x) => x.asId === 0 && args.slot! >= x.slot && args.slot! < x.slot + x.count)!;
  const gpa = m.gpa + (args.slot - m.slot) * m.size;
  const npages = m.size / PAGE_SIZE;
  const per = Math.max(1, Math.floor(npages / count));
  return { gpa: gpa + k * per * PAGE_SIZE, pages: k === count - 1 ? Math.max(1, npages - per * (count - 1)) : per };
}

/** Every vCPU of the step, in entry order. */
export function planVcpus(step: VmStep, scenarioDir: string): PlannedVcpu[] {
  const out: PlannedVcpu[] = [];
  let next = 0;
  step.vcpus.forEach((v, entry) => {
    const first = v.id ?? next;
    for (let k = 0; k < v.count; k++) {
      let spec: GuestSpec;
      let guestName: string = v.guest;
      if (v.guest === 'memstress') {
        const { stride, passes, write, rounds } = v.args;
        spec = { guest: 'memstress', args: { ...memstressRange(step, v.args, k, v.count), stride, passes, write, rounds: rounds ?? FOREVER } };
      } else if (v.guest === 'module') {
        const file = modulePath(scenarioDir, v.module);
        spec = { guest: `module:${file}#${v.export}`, args: v.args };
        guestName = `module:${v.module}#${v.export}`;
      } else {
        spec = { guest: v.guest, args: v.args };
      }
      out.push({ id: first + k, entry, spec, guestName, runPollNs: v.runPollNs, countsAccesses: v.guest === 'memstress' });
    }
    next = first + v.count;
  });
  return out;
}
