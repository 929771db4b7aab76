/** Field types shared by the step schemas, each with the rule its error message states. */
import * as z from 'zod';

/** `n` bytes as people write sizes: 4K, 64M, 3G, or plain bytes. */
export function sizeText(n: number): string {
  for (const [unit, f] of [['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) if (n >= f && n % f === 0) return `${n / f}${unit}`;
  return String(n);
}

/** An integer in [min, max]; the message says so, for every way a value can miss it. */
export function intIn(min: number, max: number) {
  const error = `must be an integer in [${min}, ${max}]`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

/** A number of seconds in (0, max] (or [0, max] with `zero`). */
export function secondsIn(max: number, zero = false) {
  const error = `must be a number of seconds in ${zero ? '[' : '('}0, ${max}]`;
  const n = z.number({ error }).max(max, { error });
  return zero ? n.min(0, { error }) : n.positive({ error });
}

/** A list of distinct values, at least one: a repeated value is an error at its second place. */
export function distinctList<T extends z.ZodType>(item: T) {
  return z.array(item, { error: 'must be a list' }).min(1, { error: 'must list at least one value' }).superRefine((list, ctx) => {
    list.forEach((v, i) => {
      if (list.indexOf(v) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `${JSON.stringify(v)} appears twice: values must be distinct`, input: v });
    });
  });
}

const SIZE_RE = /^\s*(\d+)\s*([KMG]?)(i?B)?\s*$/i;

/** A byte count from an integer or a size string (`64M`, `4K`, `1G`: powers of 1024). */
export function parseSize(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = SIZE_RE.exec(v);
  return m ? Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase()) : NaN;
}

/**
 * A byte size: an integer or a string with a K, M or G suffix, a multiple of `align` in [min, max].
 * The JSON Schema shows both spellings; the parsed value is the number of bytes.
 */
export function byteSize(min: number, max: number, align = 4096) {
  const error = `must be ${align > 1 ? `a multiple of ${align} bytes ` : 'a byte count '}in [${sizeText(min)}, ${sizeText(max)}], like 64M or ${align}`;
  return z.union([z.int({ error }), z.string({ error }).regex(SIZE_RE, { error })], { error }).transform((v, ctx) => {
    const n = parseSize(v);
    if (!Number.isSafeInteger(n) || n < min || n > max || n % align !== 0) {
      ctx.addIssue({ code: 'custom', message: `${error} (got ${JSON.stringify(v)})`, input: v });
      return z.NEVER;
    }
    return n;
  });
}

/** One of `values`, named in the message. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

/** A boolean: true or false. */
export function bool() {
  return z.boolean({ error: 'must be true or false' });
}

/** The `title` every step may carry: the heading of its section in the report. */
export const title = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).optional();
