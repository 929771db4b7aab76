/**
 * The guest of the move tests, in its own thread: it keeps resolving the gfns of its window the way
 * a vCPU's faults would (SRCU read lock, kvm_vcpu_gfn_to_memslot), so that each swap's synchronize
 * has a live reader to wait for. A gfn with no usable slot is what KVM would turn into an MMIO exit.
 */
import { workerData } from 'node:worker_threads';
import { parentPort } from 'node:worker_threads';
import { attachVm, KVM_MEMSLOT_INVALID, VcpuMemslotCache, type VmHandle } from '@vcpu-rt/core';

const { handle, startGfn, endGfn } = workerData as { handle: VmHandle; startGfn: number; endGfn: number };
const ctl = new Int32Array(workerData.ctl as SharedArrayBuffer);
const view = attachVm(handle);
const cache = new VcpuMemslotCache(view.shared);
const reader = view.shared.reader;
let lookups = 0;
let mmioExits = 0;
Atomics.store(ctl, 1, 1);
while (Atomics.load(ctl, 0) === 0) {
  const idx = view.srcuReadLock();
  for (let gfn = startGfn; gfn < endGfn; gfn++) {
    const ref = cache.lookup(0, gfn);
    if (ref < 0 || reader.flags(ref) & KVM_MEMSLOT_INVALID) mmioExits++;
    lookups++;
  }
  view.srcuReadUnlock(idx);
}
view.detach();
parentPort!.postMessage({ lookups, mmioExits });
