/**
 * SRCU as the memslot swap uses it, with the VM's writer in its own thread: a DELETE publishes the
 * INVALID slot and then waits for readers that entered before; their slot stays valid meanwhile;
 * a reader entering mid-DELETE sees the INVALID slot; one entering after sees no slot.
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import type { MemslotImpl, VmHandle } from '@vcpu-rt/core';

// writer flags: 0 ready, 1 go-delete, 2 deleted, 3 exit. reader flags: 0 entered, 1 check, 2 checked, 3 release, 4 left.
async function until(flags: Int32Array, i: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Atomics.load(flags, i) === 0) {
    if (Date.now() > end) throw new Error(`timed out waiting for flag ${i}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
const set = (f: Int32Array, i: number) => { Atomics.store(f, i, 1); Atomics.notify(f, i); };

interface Seen { id: number; baseGfn: number; npages: number; flags: number; stamp: number }

for (const impl of ['tree', 'array'] as MemslotImpl[]) {
  test(`${impl}: a DELETE waits for readers that entered before it; they keep their slot, later readers see INVALID, then nothing`, async (t) => {
    const url = (f: string) => new URL(`../fixtures/${f}`, import.meta.url);
    const wf = new Int32Array(new SharedArrayBuffer(16));
    const workers: Worker[] = [];
    t.teardown(() => Promise.all(workers.map((w) => w.terminate())));
    const writer = new Worker(url('vm-writer.js'), { workerData: { impl, flags: wf.buffer } });
    workers.push(writer);
    const handle = await new Promise<VmHandle>((resolve, reject) => { writer.once('message', resolve); writer.once('error', reject); });
    const reader = (flags: Int32Array) => {
      const w = new Worker(url('swap-reader.js'), { workerData: { handle, impl, flags: flags.buffer } });
      workers.push(w);
      return new Promise<{ before: Seen | null; during: Seen | null }>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    };

    const a = new Int32Array(new SharedArrayBuffer(32));
    const aDone = reader(a);
    await until(a, 0);
    set(wf, 1); // the writer starts the DELETE: INVALID published, then synchronize
    await new Promise((r) => setTimeout(r, 150));
    t.is(Atomics.load(wf, 2), 0, 'the DELETE finished while a reader that entered before it was inside');

    set(a, 1);
    await until(a, 2);
    // A reader entering now sees the INVALID copy and leaves at once.
    const b = new Int32Array(new SharedArrayBuffer(32));
    const bDone = reader(b);
    set(b, 1);
    set(b, 3);
    const seenB = await bDone;

    set(a, 3);
    const seenA = await aDone;
    await until(wf, 2);
    const c = new Int32Array(new SharedArrayBuffer(32));
    const cDone = reader(c);
    set(c, 1);
    set(c, 3);
    const seenC = await cDone;
    set(wf, 3);

    // A's slot, captured before the DELETE, reads the same while the DELETE waits for A.
    t.deepEqual(seenA.during, seenA.before);
    t.like(seenA.before!, { id: 1, baseGfn: 0x100, npages: 4, flags: 0 });
    t.truthy(seenB.before);
    t.is(seenB.before!.flags & (1 << 16), 1 << 16, 'a reader entering mid-DELETE should see KVM_MEMSLOT_INVALID');
    t.is(seenC.before, null, 'after the DELETE no slot covers the gfn');
  });
}
