/** Number formats of the report's tables: few digits, the unit in the column head. */

/** Three significant digits, exponent form below 0.001. */
export function sig3(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  return Math.abs(x) >= 0.001 ? x.toPrecision(3) : x.toExponential(2);
}

/** Pages/s as K pages/s. */
export function kpps(pagesPerSecond: number): string {
  const k = pagesPerSecond / 1000;
  return k < 10 ? k.toFixed(2) : k < 100 ? k.toFixed(1) : k.toFixed(0);
}

/** A signed percentage. */
export function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`;
}

/** A ratio as `2.3x`. */
export function times(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 1)}x` : '–';
}

/** Bytes in the largest unit that keeps a number ≥ 1. */
export function bytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(n % 1024 ? 1 : 0)} KiB`;
  return `${n} B`;
}

/** A number with its sign always shown, `digits` after the point. */
export function signed(x: number, digits: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
}
