/**
 * Spin-then-sleep for the two waits of the KVM_RUN handoff (the VMM waiting for an exit, the vCPU
 * thread waiting for the next KVM_RUN), with the window adapted the way KVM adapts halt_poll_ns.
 *
 * In KVM, KVM_RUN is a syscall on the vCPU's own thread: an exit to userspace wakes nobody. Here the
 * VMM may call Vcpu.run() from another thread, and a futex wake-up costs tens of µs on a busy
 * machine, which would make every exit look ten times dearer than the kernel's. Spinning briefly
 * before sleeping hides the wake-up when the other side answers quickly and costs nothing when the
 * window has shrunk to 0 (docs/vcpu.md, "KVM_RUN handoff polling").
 */

/** KVM's halt_poll_ns default on x86 (KVM_HALT_POLL_NS_DEFAULT): the largest window, in ns. */
export const HANDOFF_POLL_NS_DEFAULT = 200_000;
/** halt_poll_ns_grow: the window is multiplied by this after a short wait it missed. */
export const HANDOFF_POLL_GROW = 2;
/** halt_poll_ns_grow_start: the first non-zero window, in ns. */
export const HANDOFF_POLL_GROW_START = 10_000;
/**
 * halt_poll_ns_shrink: the window is divided by this after a wait longer than the largest window
 * (0 would reset it to 0). Current kernels halve ("Default halves per-vcpu halt_poll_ns"); older
 * ones reset ("Default resets per-vcpu halt_poll_ns", shrink 0).
 */
export const HANDOFF_POLL_SHRINK: number = 2;

/** Load-then-clock: how many loads of the word between two reads of the clock. */
const LOADS_PER_CLOCK = 64;

/** Words of a poll's state, for `HandoffPoll`'s `words` (one writer: the polling thread). */
export const POLL_WORDS = 3;
const SUCCESSFUL = 0;
const FAILED = 1;
const WINDOW = 2;

/** What one side's polling did (readable from any thread). */
export interface HandoffPollStats {
  /** Waits that ended while polling (KVM's halt_successful_poll). */
  successfulPolls: number;
  /** Waits that polled, missed and slept (halt_attempted_poll minus halt_successful_poll). */
  failedPolls: number;
  /** The current window, ns (vcpu->halt_poll_ns). */
  windowNs: number;
}

/** Reads a poll's state from its words (any thread). */
export function readHandoffPoll(words: Int32Array<ArrayBufferLike>): HandoffPollStats {
  return { successfulPolls: Atomics.load(words, SUCCESSFUL), failedPolls: Atomics.load(words, FAILED), windowNs: Atomics.load(words, WINDOW) };
}

/** One waiter's adaptive poll window (kvm_vcpu->halt_poll_ns and its grow/shrink rules). */
export class HandoffPoll {
  /**
   * `maxNs` is the largest window (max_halt_poll_ns); 0 disables polling. `words` (POLL_WORDS Int32
   * words, zeroed) hold the window and the counters, in a SharedArrayBuffer when others read them.
   */
  constructor(readonly maxNs: number = HANDOFF_POLL_NS_DEFAULT, private readonly words: Int32Array<ArrayBufferLike> = new Int32Array(POLL_WORDS)) {
    if (!Number.isInteger(maxNs) || maxNs < 0 || maxNs > 2 ** 31 - 1) {
      throw new RangeError(`handoff poll: maxNs must be an integer in [0, 2^31 - 1] ns (got ${maxNs})`);
    }
    if (words.length < POLL_WORDS) throw new RangeError(`handoff poll: needs ${POLL_WORDS} words`);
  }

  /** The current window in ns (0: sleep at once). */
  get windowNs(): number {
    return this.words[WINDOW];
  }

  /** The window and counters. */
  stats(): HandoffPollStats {
    return readHandoffPoll(this.words);
  }

  /**
   * Spins until `done(i32[index])`, for at most the current window; true if it became done. The
   * caller sleeps on the word when this returns false, and reports the whole wait to `update`.
   */
  spin(i32: Int32Array, index: number, done: (state: number) => boolean): boolean {
    if (this.windowNs === 0) return false;
    const deadline = performance.now() + this.windowNs / 1e6;
    for (;;) {
      for (let i = 0; i < LOADS_PER_CLOCK; i++) {
        if (done(Atomics.load(i32, index))) {
          this.words[SUCCESSFUL]++;
          return true;
        }
      }
      if (performance.now() >= deadline) {
        this.words[FAILED]++;
        return false;
      }
    }
  }

  /** Adapts the window to a wait that lasted `waitNs` (kvm_vcpu_halt's grow/shrink decision). */
  update(waitNs: number): void {
    if (this.maxNs === 0) return;
    const window = this.windowNs;
    if (waitNs <= window) return; // the poll caught it: keep the window
    if (window !== 0 && waitNs > this.maxNs) {
      // A long wait: polling only burned CPU.
      Atomics.store(this.words, WINDOW, HANDOFF_POLL_SHRINK === 0 ? 0 : Math.floor(window / HANDOFF_POLL_SHRINK));
    } else if (window < this.maxNs && waitNs < this.maxNs) {
      // A short wait the window missed: poll longer next time.
      Atomics.store(this.words, WINDOW, Math.min(Math.max(window * HANDOFF_POLL_GROW, HANDOFF_POLL_GROW_START), this.maxNs));
    }
  }
}
