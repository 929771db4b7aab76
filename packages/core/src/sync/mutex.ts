/**
 * A futex-style mutex in one Int32 word of a SharedArrayBuffer (Drepper's three states:
 * 0 unlocked, 1 locked, 2 locked with waiters). Usable from any thread, main thread included.
 */
/** Compare-exchanges SabMutex.lock tries before it sleeps. */
export const SAB_MUTEX_SPINS = 100;

export class SabMutex {
  constructor(private readonly word: Int32Array, private readonly index: number) {}

  /** Takes the lock if it is free; never waits. */
  tryLock(): boolean {
    return Atomics.compareExchange(this.word, this.index, 0, 1) === 0;
  }

  /** Takes the lock, spinning briefly and then sleeping in Atomics.wait. */
  lock(): void {
    const w = this.word;
    const i = this.index;
    let c = Atomics.compareExchange(w, i, 0, 1);
    if (c === 0) return;
    for (let spin = 0; spin < SAB_MUTEX_SPINS && c !== 0; spin++) {
      c = Atomics.compareExchange(w, i, 0, 1);
      if (c === 0) return;
    }
    if (c !== 2) c = Atomics.exchange(w, i, 2);
    while (c !== 0) {
      Atomics.wait(w, i, 2);
      c = Atomics.exchange(w, i, 2);
    }
  }

  /** Takes the lock unless `timeoutMs` passes first; returns whether it did. */
  lockWithin(timeoutMs: number): boolean {
    const w = this.word;
    const i = this.index;
    if (Atomics.compareExchange(w, i, 0, 1) === 0) return true;
    const deadline = performance.now() + timeoutMs;
    let c = Atomics.exchange(w, i, 2);
    while (c !== 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(w, i, 2, left);
      c = Atomics.exchange(w, i, 2);
    }
    return true;
  }

  /** Releases the lock and wakes one waiter if there may be one. */
  unlock(): void {
    if (Atomics.sub(this.word, this.index, 1) !== 1) {
      Atomics.store(this.word, this.index, 0);
      Atomics.notify(this.word, this.index, 1);
    }
  }
}
