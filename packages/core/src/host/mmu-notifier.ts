/** A subscriber to host address-space changes (struct mmu_notifier): KVM zaps guest mappings here. */
export interface MmuNotifier {
  /** Called before the host pages of [start, end) go away (mmu_notifier_invalidate_range_start). */
  invalidateRangeStart(start: number, end: number): void;
  /** Called once they have gone (mmu_notifier_invalidate_range_end). */
  invalidateRangeEnd(start: number, end: number): void;
}
