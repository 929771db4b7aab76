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
/** halt_poll_ns_shrink: 0 resets the window to 0 after a wait longer than the largest window. */
export const HANDOFF_POLL_SHRINK = 0;

/** Load-then-clock: how many loads of the word between two reads of the clock. */
const LOADS_PER_CLOCK = 64;

/** One waiter's adaptive poll window (kvm_vcpu->halt_poll_ns and its grow/shrink rules). */
export class HandoffPoll {
  /** The current window in ns (0: sleep at once). */
  windowNs = 0;
  /** Waits that ended while polling (halt_successful_poll). */
  successfulPolls = 0;
  /** Waits that polled, missed and went to sleep (halt_attempted_poll minus the successful ones). */
  failedPolls = 0;

  /** `maxNs` is the largest window (max_halt_poll_ns); 0 disables polling. */
  constructor(readonly maxNs: number = HANDOFF_POLL_NS_DEFAULT) {
    if (!Number.isFinite(maxNs) || maxNs < 0) throw new RangeError(`handoff poll: maxNs must be a finite number >= 0 (got ${maxNs})`);
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
          this.successfulPolls++;
          return true;
        }
      }
      if (performance.now() >= deadline) {
        this.failedPolls++;
        return false;
      }
    }
  }

  /** Adapts the window to a wait that lasted `waitNs` (kvm_vcpu_halt's grow/shrink decision). */
  update(waitNs: number): void {
    if (this.maxNs === 0) return;
    if (waitNs <= this.windowNs) return; // the poll caught it: keep the window
    if (this.windowNs !== 0 && waitNs > this.maxNs) {
      // A long wait: polling only burned CPU.
      this.windowNs = HANDOFF_POLL_SHRINK === 0 ? 0 : Math.floor(this.windowNs / HANDOFF_POLL_SHRINK);
    } else if (this.windowNs < this.maxNs && waitNs < this.maxNs) {
      // A short wait the window missed: poll longer next time.
      const grown = Math.max(this.windowNs * HANDOFF_POLL_GROW, HANDOFF_POLL_GROW_START);
      this.windowNs = Math.min(grown, this.maxNs);
    }
  }
}
