/** KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG (kvm_get_dirty_log_protect, kvm_clear_dirty_log_protect). */
import { check, KvmError } from '../errors.js';
import type { DirtyArena } from '../dirty/dirty-arena.js';
import { dirtyBitmapBytes, type Memslot } from '../memslots/memslot.js';
import type { MemslotStore } from '../memslots/store.js';
import type { KvmMmu } from '../mmu/mmu.js';
import { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, KVM_USER_MEM_SLOTS } from '../uapi.js';

/** struct kvm_clear_dirty_log. */
export interface ClearDirtyLogRequest {
  slot: number;
  firstPage: number;
  numPages: number;
  bitmap: Uint8Array;
}

/** The slot-number rules of both ioctls: a u32 whose address space and id are in range. */
function checkSlot(slot: unknown, nrAs: number, op: string): number {
  check(typeof slot === 'number' && Number.isInteger(slot) && slot >= 0 && slot <= 0xffffffff, 'EINVAL',
    () => `${op}: slot must be a u32 integer (got ${String(slot)})`);
  const asId = slot >>> 16;
  const id = slot & 0xffff;
  check(asId < nrAs && id < KVM_USER_MEM_SLOTS, 'EINVAL',
    () => `${op}: slot's address space ${asId} must be < ${nrAs} and its id ${id} < ${KVM_USER_MEM_SLOTS}`);
  return asId;
}

function lookup(store: MemslotStore, nrAs: number, slot: number, op: string): Memslot {
  const asId = checkSlot(slot, nrAs, op);
  const id = slot & 0xffff;
  const m = store.idToMemslot(asId, id);
  if (!m) throw new KvmError('ENOENT', `${op}: slot ${id} of address space ${asId} does not exist`);
  return m;
}

/** KVM_GET_DIRTY_LOG: the slot's bitmap; cleared as it is read unless manual protection is enabled. */
export function getDirtyLog(store: MemslotStore, dirty: DirtyArena, mmu: KvmMmu, nrAs: number, manual: number, slot: number): Uint8Array {
  const m = lookup(store, nrAs, slot, 'getDirtyLog');
  if (m.dirtyBitmap < 0) throw new KvmError('ENOENT', `getDirtyLog: slot ${m.id} does not log dirty pages`);
  const words = dirtyBitmapBytes(m.npages) / 4;
  dirty.arena.refresh();
  const i32 = dirty.arena.i32;
  const out = new Int32Array(words);
  if (manual & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) {
    for (let i = 0; i < words; i++) out[i] = Atomics.load(i32, m.dirtyBitmap + i);
  } else {
    // Snapshot into the second copy with xchg so no write between read and clear is lost.
    const scratch = m.dirtyBitmap + words;
    for (let i = 0; i < words; i++) i32[scratch + i] = Atomics.exchange(i32, m.dirtyBitmap + i, 0);
    out.set(i32.subarray(scratch, scratch + words));
    // The reported pages are write-protected again, so their next write faults and is logged.
    if (m.asId === 0) mmu.writeProtect(m.baseGfn, m.baseGfn + m.npages, (gfn) => bit(out, gfn - m.baseGfn));
  }
  return new Uint8Array(out.buffer);
}

/** KVM_CLEAR_DIRTY_LOG: clears the bits set in `bitmap` for pages [firstPage, firstPage + numPages). */
export function clearDirtyLog(store: MemslotStore, dirty: DirtyArena, mmu: KvmMmu, nrAs: number, req: ClearDirtyLogRequest): void {
  check(typeof req === 'object' && req !== null, 'EINVAL', 'clearDirtyLog: request must be an object');
  const { firstPage, numPages, bitmap } = req;
  check(Number.isSafeInteger(firstPage) && firstPage >= 0, 'EINVAL', 'clearDirtyLog: firstPage must be a non-negative integer');
  check(Number.isInteger(numPages) && numPages >= 0 && numPages <= 0xffffffff, 'EINVAL', 'clearDirtyLog: numPages must be a u32 integer');
  // The kernel's order: slot range, then first_page alignment, then the slot lookup.
  checkSlot(req.slot, nrAs, 'clearDirtyLog');
  check((firstPage & 63) === 0, 'EINVAL', () => `clearDirtyLog: firstPage ${firstPage} is not a multiple of 64`);
  const m = lookup(store, nrAs, req.slot, 'clearDirtyLog');
  if (m.dirtyBitmap < 0) throw new KvmError('ENOENT', `clearDirtyLog: slot ${m.id} does not log dirty pages`);
  const npages = m.npages;
  check(!(firstPage > npages || numPages > npages - firstPage || (numPages < npages - firstPage && (numPages & 63))), 'EINVAL',
    () => `clearDirtyLog: [${firstPage}, +${numPages}) must lie in the slot's ${npages} pages and numPages be a multiple of 64 unless it reaches the end`);
  const bytes = Math.ceil(numPages / 64) * 8;
  check(bitmap instanceof Uint8Array, 'EFAULT', 'clearDirtyLog: bitmap must be a Uint8Array');
  check(bitmap.length >= bytes, 'EFAULT', () => `clearDirtyLog: bitmap has ${bitmap.length} bytes, ${bytes} are needed`);
  dirty.arena.refresh();
  const i32 = dirty.arena.i32;
  const view = new DataView(bitmap.buffer, bitmap.byteOffset, bitmap.byteLength);
  const first = m.dirtyBitmap + firstPage / 32;
  const cleared = new Int32Array(bytes / 4);
  for (let i = 0; i < bytes / 4; i++) {
    const mask = view.getInt32(i * 4, true);
    if (mask !== 0) cleared[i] = mask & Atomics.and(i32, first + i, ~mask);
  }
  // kvm_arch_mmu_enable_log_dirty_pt_masked for the pages whose bits were actually cleared.
  if (m.asId === 0 && cleared.some((w) => w !== 0)) {
    mmu.writeProtect(m.baseGfn + firstPage, m.baseGfn + firstPage + numPages, (gfn) => bit(cleared, gfn - m.baseGfn - firstPage));
  }
}

/** test_bit_le on a bitmap of Int32 words. */
function bit(words: Int32Array, n: number): boolean {
  return (words[n >>> 5] & (1 << (n & 31))) !== 0;
}
