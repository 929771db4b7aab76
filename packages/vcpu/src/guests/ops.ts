/** The `ops` guest of docs/api.md: runs a list of reads, writes and ucalls; what tests use. */
import type { GuestContext } from '../guest.js';

/** One step of the ops guest. */
export type Op =
  | { op: 'read'; gpa: number; size: 1 | 2 | 4 | 8 }
  | { op: 'write'; gpa: number; size: 1 | 2 | 4 | 8; value: number | bigint }
  | { op: 'ucall' };

function checkOp(op: Op, i: number): void {
  if (typeof op !== 'object' || op === null) throw new TypeError(`ops[${i}] must be an object`);
  if (op.op === 'ucall') return;
  if (op.op !== 'read' && op.op !== 'write') throw new TypeError(`ops[${i}].op must be 'read', 'write' or 'ucall'`);
  if (!Number.isSafeInteger(op.gpa) || op.gpa < 0) throw new TypeError(`ops[${i}].gpa must be a non-negative integer`);
  if (![1, 2, 4, 8].includes(op.size)) throw new TypeError(`ops[${i}].size must be 1, 2, 4 or 8`);
}

/** Runs `args.ops`; `ucall` exits with the values read since the last one; returns the rest for `done`. */
export function opsGuest(ctx: GuestContext, args: unknown): (number | bigint)[] {
  const ops = (args as { ops?: Op[] } | undefined)?.ops;
  if (!Array.isArray(ops)) throw new TypeError('the ops guest needs args.ops, an array');
  ops.forEach(checkOp);
  let values: (number | bigint)[] = [];
  for (const op of ops) {
    if (op.op === 'ucall') {
      ctx.ucall('sync', values);
      values = [];
    } else if (op.op === 'read') {
      values.push(op.size === 1 ? ctx.read8(op.gpa) : op.size === 2 ? ctx.read16(op.gpa) : op.size === 4 ? ctx.read32(op.gpa) : ctx.read64(op.gpa));
    } else if (op.size === 8) {
      ctx.write64(op.gpa, BigInt(op.value));
    } else {
      const v = Number(op.value);
      if (op.size === 1) ctx.write8(op.gpa, v);
      else if (op.size === 2) ctx.write16(op.gpa, v);
      else ctx.write32(op.gpa, v);
    }
  }
  return values;
}
