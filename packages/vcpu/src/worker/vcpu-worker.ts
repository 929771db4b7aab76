/**
 * The vCPU thread: attaches the VM, claims its vCPU line, runs the guest program between KVM_RUN
 * calls, and delivers exits to the in-thread VMM handlers or to the Vcpu.run() caller.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { attachVm, KvmError, KVM_EXIT_HLT, KVM_EXIT_INTERNAL_ERROR, VcpuMmu, VcpuTable, type VmHandle } from '@vcpu-rt/core';
import { Comlink, nodeEndpoint } from '../comlink-node.js';
import { Cpu, type ExitPath } from '../cpu.js';
import { HandoffPoll, POLL_WORDS } from '../handoff-poll.js';
import { loadGuest, type BuiltinGuest } from '../guests/index.js';
import { KvmRun, RUN_STATE_EXITED, RUN_STATE_FAILED, RUN_STATE_RUN, RUN_STATE_RUNNING, STATE_WORD, VCPU_POLL_WORD } from '../kvm-run.js';
import { loadHandlers, type ExitHandler } from '../vmm/handlers.js';
import '../vmm/pci-host-handler.js';
import '../vmm/mmio-sink.js';
import { CLAIMED_WORD, DESTROY_WORD, RELEASED_WORD, type VcpuWorkerApi, type VcpuWorkerData } from './protocol.js';

/** Unwinds the guest when the vCPU is destroyed. */
class VcpuDestroyed extends Error {}

const data = workerData as VcpuWorkerData;
const run = new KvmRun(data.kvmRun);
// The vCPU line first: a thread that cannot have it must not hold anything else either.
const requests = new VcpuTable((data.handle as VmHandle).vcpus).claim(data.id);
Atomics.store(run.i32, CLAIMED_WORD, 1);
const view = attachVm(data.handle as VmHandle);
const mmu = new VcpuMmu(view.shared, requests);
// A vCPU asleep in handle_userfault is killable: a destroy unwinds it like a fatal signal.
view.host.onUserfaultWait = () => {
  if (destroyed()) throw new VcpuDestroyed();
};
let handlers: ExitHandler[] = [];
/** The vCPU side's poll window for the next KVM_RUN. */
const poll = new HandoffPoll(data.pollNs, new Int32Array(data.kvmRun, VCPU_POLL_WORD * 4, POLL_WORDS));
const isRun = (s: number): boolean => s === RUN_STATE_RUN;

/** No memslot in address space 0: nothing to fetch the first instruction from. */
function noMemory(): boolean {
  const idx = view.srcuReadLock();
  try {
    return view.shared.reader.count(0) === 0;
  } finally {
    view.srcuReadUnlock(idx);
  }
}

function destroyed(): boolean {
  return Atomics.load(run.i32, DESTROY_WORD) !== 0;
}

/** Sleeps until the VMM runs the vCPU again, waking for a destroy too (it may have raced our exit). */
function waitForRun(): void {
  const t0 = performance.now();
  if (!poll.spin(run.i32, STATE_WORD, isRun)) {
    for (let st = run.state; st !== RUN_STATE_RUN; st = run.state) {
      if (destroyed()) throw new VcpuDestroyed();
      run.sleep(st, 50);
    }
  }
  poll.update((performance.now() - t0) * 1e6);
  // Nobody sleeps waiting for RUNNING: no wake-up.
  Atomics.store(run.i32, STATE_WORD, RUN_STATE_RUNNING);
}

function reenter(): void {
  if (destroyed()) throw new VcpuDestroyed();
  if (requests.enterGuest() !== 0) mmu.checkRequests();
}

const out: ExitPath = {
  interrupt() {
    if (destroyed()) throw new VcpuDestroyed();
  },
  exit() {
    requests.exitGuest();
    if (handlers.length) {
      const e = run.exitView();
      // An index loop: for-of allocates an iterator where the JIT does not remove it.
      for (let i = 0; i < handlers.length; i++) {
        if (handlers[i](e)) {
          reenter();
          return;
        }
      }
    }
    run.setState(RUN_STATE_EXITED);
    waitForRun();
    reenter();
  },
  fail(errno, message, memoryFault) {
    requests.exitGuest();
    run.setFailure(errno, message, memoryFault);
    run.setState(RUN_STATE_FAILED);
    waitForRun();
    reenter();
  },
};

const cpu = new Cpu(data.id, mmu, run, out);

function cleanup(): void {
  requests.release();
  view.detach();
  Atomics.store(run.i32, RELEASED_WORD, 1);
}

async function main(guest: BuiltinGuest, args: unknown): Promise<void> {
  if (!(await waitForRunAsync())) return;
  try {
    reenter();
    // The vCPU fetches its first instruction from guest memory: with no memslot at all it cannot,
    // and KVM_RUN exits with KVM_EXIT_INTERNAL_ERROR (set_memory_region_test's test_zero_memory_regions).
    while (noMemory()) {
      run.setReason(KVM_EXIT_INTERNAL_ERROR);
      out.exit();
    }
    // While an async guest awaits, it runs no guest code: a timer handles its TLB-flush requests
    // then, the way an interrupt would reach a halted CPU. (A synchronous loop without memory
    // accesses cannot be preempted in JavaScript; see docs/mmu.md.)
    const tick = setInterval(() => mmu.checkRequests(), 1);
    let values: void | (number | bigint)[];
    try {
      values = await guest(cpu, args);
    } finally {
      clearInterval(tick);
    }
    cpu.ucall('done', Array.isArray(values) ? values : []);
    // A guest that has finished halts on every later KVM_RUN.
    for (;;) {
      requests.exitGuest();
      run.setReason(KVM_EXIT_HLT);
      run.setState(RUN_STATE_EXITED);
      if (!(await waitForRunAsync())) return;
    }
  } catch (e) {
    if (e instanceof VcpuDestroyed) return;
    // The guest (or the runtime under it) threw: every KVM_RUN from now on fails with the error.
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const errno = e instanceof KvmError ? e.errno : 0;
    for (;;) {
      requests.exitGuest();
      run.setFailure(errno, msg);
      run.setState(RUN_STATE_FAILED);
      if (!(await waitForRunAsync())) return;
    }
  }
}

/**
 * Waits for KVM_RUN without blocking the thread's event loop (the control plane stays served);
 * false if the vCPU is being destroyed. The 50 ms bound catches a destroy that raced our state store.
 */
async function waitForRunAsync(): Promise<boolean> {
  for (;;) {
    if (destroyed()) return false;
    const s = run.state;
    if (s === RUN_STATE_RUN) break;
    await run.sleepAsync(s, 50);
  }
  Atomics.store(run.i32, STATE_WORD, RUN_STATE_RUNNING);
  return !destroyed();
}

const api: VcpuWorkerApi = {
  async start(guestName, args, specs) {
    // Load errors (unknown guest, bad handler) reject createVcpu rather than the first run.
    let guest: BuiltinGuest;
    try {
      guest = await loadGuest(guestName);
      handlers = await loadHandlers(specs, { vcpuId: data.id, vm: view, run });
    } catch (e) {
      cleanup();
      throw e;
    }
    void main(guest, args).finally(cleanup);
    return { vmReader: view.shared.srcuReader.slot, hostReader: view.host.readerSlot(), uffdRecord: view.host.uffdRecord() };
  },
};
Comlink.expose(api, nodeEndpoint(parentPort));
