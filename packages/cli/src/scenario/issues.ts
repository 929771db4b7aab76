/** zod's issues as scenario rules: the path they point at and the rule, in the words of the docs. */
import type * as z from 'zod';

/** One validation failure, before it is located in the file. */
export interface Problem {
  path: PropertyKey[];
  rule: string;
  /** Point at the key (an unknown key) rather than the value. */
  at: 'value' | 'key';
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', int: 'an integer',
  boolean: 'true or false', bigint: 'an integer', undefined: 'absent', null: 'null',
};

/** What the value was, for the message; custom rules say it themselves when it helps. */
export function got(input: unknown): string {
  if (input === undefined) return '';
  if (input === null) return ' (got null)';
  if (typeof input === 'object') return Array.isArray(input) ? ' (got a list)' : ' (got a mapping)';
  const s = JSON.stringify(input);
  return ` (got ${s.length > 40 ? `${s.slice(0, 37)}...` : s})`;
}

/**
 * The per-parse error map: zod's default wording replaced by rules. Fields with an `error` of
 * their own keep it; this covers the rest (missing keys, wrong types of plain fields).
 */
export function ruleOf(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_big':
      return issue.origin === 'array' ? `must have at most ${issue.maximum} entries` : `must be at most ${issue.maximum}`;
    case 'too_small':
      return issue.origin === 'array' ? `must have at least ${issue.minimum} entries` : `must be at least ${issue.minimum}`;
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => String(v)).join(', ')}`}`;
    default:
      return undefined;
  }
}

/** The problems of a failed parse (parsed with `reportInput`), each once. */
export function problems(error: z.ZodError): Problem[] {
  const out: Problem[] = [];
  for (const i of error.issues) {
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path: [...i.path, k], rule: `unknown key '${k}'`, at: 'key' });
    } else if (i.code === 'invalid_union' && 'discriminator' in i && i.discriminator) {
      const input = (i as { input?: unknown }).input;
      const value = input && typeof input === 'object' ? (input as Record<string, unknown>)[i.discriminator as string] : undefined;
      const options = ((i as { options?: unknown[] }).options ?? []).map(String).join(', ');
      out.push({ path: [...i.path], rule: value === undefined ? `is required (one of ${options})` : `must be one of ${options}${got(value)}`, at: 'value' });
    } else {
      const input = (i as { input?: unknown }).input;
      const missing = i.code === 'invalid_type' && input === undefined;
      const rule = missing ? (i.message === 'is required' ? 'is required' : `is required: ${i.message}`) : i.code === 'custom' ? i.message : `${i.message}${got(input)}`;
      out.push({ path: [...i.path], rule, at: missing ? 'key' : 'value' });
    }
  }
  return out;
}
