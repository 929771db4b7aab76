import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Srcu } from '@vcpu-rt/core';

test('synchronize returns at once with no readers inside', (t) => {
  const srcu = new Srcu();
  const r = srcu.registerReader();
  const idx = r.lock();
  r.unlock(idx);
  srcu.synchronize();
  t.is(r.nesting(), 0);
});

test('a reader that entered before synchronize holds it until it leaves; one that enters after is not waited for', async (t) => {
  const srcu = new Srcu();
  const flags = new Int32Array(new SharedArrayBuffer(16)); // [0] entered, [1] release, [2] late reader done
  const worker = new Worker(new URL('./fixtures/srcu-holder.js', import.meta.url), { workerData: { srcu: srcu.buffer, flags: flags.buffer } });
  try {
    while (Atomics.load(flags, 0) === 0) Atomics.wait(flags, 0, 0, 10);
    // The worker holds the read lock: synchronize must not return before it is released.
    setTimeout(() => { Atomics.store(flags, 1, 1); Atomics.notify(flags, 1); }, 200);
    const t0 = performance.now();
    await new Promise((r) => setImmediate(r));
    const w = new Worker(new URL('./fixtures/srcu-sync.js', import.meta.url), { workerData: { srcu: srcu.buffer } });
    const waited = await new Promise<number>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    await w.terminate();
    t.true(performance.now() - t0 >= 150, 'synchronize returned while a pre-existing reader was inside');
    t.true(waited >= 150);
  } finally {
    await worker.terminate();
  }
});
