import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Srcu } from '@vcpu-rt/core';

/** Polls an Int32 flag without blocking the event loop (workers post nothing while they wait). */
async function until(flags: Int32Array, i: number, value = 1, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Atomics.load(flags, i) !== value) {
    if (Date.now() > end) throw new Error(`timed out waiting for flag ${i} = ${value}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function set(flags: Int32Array, i: number): void {
  Atomics.store(flags, i, 1);
  Atomics.notify(flags, i);
}

test('synchronize returns at once with no readers inside', (t) => {
  const srcu = new Srcu();
  const r = srcu.registerReader();
  r.unlock(r.lock());
  srcu.synchronize();
  t.is(r.nesting(), 0);
});

test('synchronize waits for a reader that entered before it, and not for one that entered after', async (t) => {
  const srcu = new Srcu();
  const early = new Int32Array(new SharedArrayBuffer(16)); // entered, release, left
  const late = new Int32Array(new SharedArrayBuffer(16));
  const sync = new Int32Array(new SharedArrayBuffer(16)); // started, done
  const url = (f: string) => new URL(`./fixtures/${f}`, import.meta.url);
  const workers: Worker[] = [];
  t.teardown(() => Promise.all(workers.map((w) => w.terminate())));
  workers.push(new Worker(url('srcu-holder.js'), { workerData: { srcu: srcu.buffer, flags: early.buffer } }));
  await until(early, 0);
  workers.push(new Worker(url('srcu-sync.js'), { workerData: { srcu: srcu.buffer, flags: sync.buffer } }));
  await until(sync, 0);
  await new Promise((r) => setTimeout(r, 100));
  t.is(Atomics.load(sync, 1), 0, 'synchronize returned while a reader that entered before it was inside');
  // A reader that enters now, after the grace period began, must not hold it up.
  workers.push(new Worker(url('srcu-holder.js'), { workerData: { srcu: srcu.buffer, flags: late.buffer } }));
  await until(late, 0);
  set(early, 1);
  await until(early, 2);
  await until(sync, 1, 1, 5_000);
  t.is(Atomics.load(late, 2), 0, 'the late reader is still inside, yet synchronize returned');
  set(late, 1);
  await until(late, 2);
});

test('each grace period flips the index new readers count on (srcu_flip)', (t) => {
  const srcu = new Srcu();
  const r = srcu.registerReader();
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    const idx = r.lock();
    seen.push(idx);
    r.unlock(idx);
    srcu.synchronize();
  }
  t.deepEqual(seen, [0, 1, 0, 1]);
  t.is(r.nesting(), 0);
});

test('releasing a reader inside a read-side section throws', (t) => {
  const r = new Srcu().registerReader();
  const idx = r.lock();
  t.throws(() => r.release(), { message: /inside a read-side critical section/ });
  r.unlock(idx);
  r.release();
});
