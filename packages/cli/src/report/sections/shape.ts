/**
 * Reading section data that came from a JSON file: a saved result may be older, hand-edited or
 * from another version, so renderers check what they use and say what was missing.
 */

/** A plain object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Thrown when a section's data lacks what its kind's charts need; the page shows the JSON instead. */
export class ShapeError extends Error {}

/** `data[key]` as an array of objects, or a ShapeError naming the key. */
export function rowsOf(data: unknown, key: string): Record<string, unknown>[] {
  const v = isObject(data) ? data[key] : undefined;
  if (!Array.isArray(v) || !v.every(isObject)) throw new ShapeError(`'${key}' must be an array of objects`);
  return v;
}

/** A finite number, or undefined. */
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The distinct numbers of `xs`, ascending. */
export function sortedDistinct(xs: readonly number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}
