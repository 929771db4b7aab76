/**
 * A worker of the migration source's pool (piscina): request/response tasks over shared memory —
 * fill a range of the snapshot, place a range into the destination's page cache (MINOR mode's
 * prefault through the alias mapping), or check a range of the destination against the source.
 */
import { attachVm, type VmHandle } from '@vcpu-rt/core';
import { fillPages, pageMismatches } from './pattern.js';

/** A task of the source pool. */
export type SourceTask =
  | { op: 'fill'; snapshot: SharedArrayBuffer; baseGfn: number; first: number; count: number }
  | { op: 'prefault'; vm: VmHandle; hva: number; snapshot: SharedArrayBuffer; first: number; count: number }
  | { op: 'verify'; vm: VmHandle; hva: number; baseGfn: number; first: number; count: number };

/** The answer of a verify task: pages whose bytes differ from the source, and the first of them. */
export interface VerifyResult {
  badPages: number;
  firstBadPage: number;
}

/** Runs one task. */
export default function run(task: SourceTask): VerifyResult | number {
  if (task.op === 'fill') {
    fillPages(new Int32Array(task.snapshot), task.baseGfn, task.first, task.count);
    return task.count;
  }
  const view = attachVm(task.vm);
  try {
    if (task.op === 'prefault') {
      const bytes = new Uint8Array(task.snapshot);
      for (let p = task.first; p < task.first + task.count; p++) {
        view.host.write(task.hva + p * 4096, bytes.subarray(p * 4096, (p + 1) * 4096));
      }
      return task.count;
    }
    let badPages = 0;
    let firstBadPage = -1;
    for (let p = task.first; p < task.first + task.count; p++) {
      const page = view.host.read(task.hva + p * 4096, 4096);
      const words = new Int32Array(page.buffer, page.byteOffset, 1024);
      if (pageMismatches(words, 0, task.baseGfn + p) !== 0) {
        badPages++;
        if (firstBadPage < 0) firstBadPage = p;
      }
    }
    return { badPages, firstBadPage };
  } finally {
    view.detach();
  }
}
