/** kvm_read_guest / kvm_write_guest: copies through the memslots of address space 0. */
import { check, KvmError } from '../errors.js';
import { markDirty } from '../dirty/dirty-arena.js';
import { hex, MAX_RW_BYTES } from '../host/host-memory.js';
import { KVM_MEM_PCI_HOLE, KVM_MEM_READONLY, KVM_MEMSLOT_INVALID, PAGE_SIZE } from '../uapi.js';
import type { VmShared } from './shared.js';

function checkRange(gpa: number, length: number): void {
  check(!(length > MAX_RW_BYTES), 'EINVAL', () => `length ${length} is more than one call copies (${MAX_RW_BYTES} bytes)`);
  check(Number.isSafeInteger(gpa) && gpa >= 0, 'EINVAL', () => `gpa must be a non-negative integer (got ${String(gpa)})`);
  check(Number.isSafeInteger(length) && length >= 0, 'EINVAL', () => `length must be a non-negative integer (got ${String(length)})`);
}

/** kvm_read_guest: PCI-hole pages read as 0xff; no slot, an INVALID slot or an unmapped hva is EFAULT. */
export function readGuest(vm: VmShared, gpa: number, length: number): Uint8Array {
  checkRange(gpa, length);
  const out = new Uint8Array(length);
  const r = vm.reader;
  const idx = vm.srcuReader.lock();
  try {
    for (let done = 0; done < length;) {
      const a = gpa + done;
      const gfn = Math.floor(a / PAGE_SIZE);
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const ref = r.gfnToSlot(0, gfn);
      if (ref < 0 || r.flags(ref) & KVM_MEMSLOT_INVALID) throw new KvmError('EFAULT', `readGuest: no usable memslot at gpa ${hex(a)}`);
      if (r.flags(ref) & KVM_MEM_PCI_HOLE) {
        out.fill(0xff, done, done + n);
      } else {
        const hva = r.userspaceAddr(ref) + (gfn - r.baseGfn(ref)) * PAGE_SIZE + off;
        out.set(vm.host.read(hva, n), done);
      }
      done += n;
    }
  } finally {
    vm.srcuReader.unlock(idx);
  }
  return out;
}

/** kvm_write_guest: READONLY and PCI-hole slots are EFAULT here (gfn_to_hva_memslot for write); marks pages dirty. */
export function writeGuest(vm: VmShared, gpa: number, data: Uint8Array): void {
  check(data instanceof Uint8Array, 'EINVAL', 'writeGuest: data must be a Uint8Array');
  checkRange(gpa, data.length);
  const r = vm.reader;
  const idx = vm.srcuReader.lock();
  try {
    for (let done = 0; done < data.length;) {
      const a = gpa + done;
      const gfn = Math.floor(a / PAGE_SIZE);
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      const ref = r.gfnToSlot(0, gfn);
      if (ref < 0 || r.flags(ref) & (KVM_MEMSLOT_INVALID | KVM_MEM_READONLY | KVM_MEM_PCI_HOLE)) {
        throw new KvmError('EFAULT', `writeGuest: no writable memslot at gpa ${hex(a)}`);
      }
      const rel = gfn - r.baseGfn(ref);
      vm.host.write(r.userspaceAddr(ref) + rel * PAGE_SIZE + off, data.subarray(done, done + n));
      const bitmap = r.dirtyBitmap(ref);
      if (bitmap >= 0) {
        vm.dirty.arena.refresh();
        markDirty(vm.dirty.arena.i32, bitmap, rel);
      }
      done += n;
    }
  } finally {
    vm.srcuReader.unlock(idx);
  }
}
