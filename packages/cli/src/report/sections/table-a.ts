/** Table A as a section carries it in `published`: read once for every postcopy section kind. */
import { isObject, num } from './shape.js';

/** The legend name of table A's figures. */
export const TABLE_A_LABEL = 'table A, 256-core EPYC (published)';

/** One row of table A, K pages/s. */
export interface TableARow {
  vcpus: number;
  uffdK: number;
  exitK: number;
}

/** `data.published` as table A, or undefined when the section carries none. */
export function publishedRows(data: unknown): { source: string; rows: TableARow[] } | undefined {
  const p = isObject(data) ? data.published : undefined;
  if (!isObject(p) || !Array.isArray(p.rows)) return undefined;
  const rows = p.rows.filter(isObject).flatMap((r) => {
    const vcpus = num(r.vcpus);
    const uffdK = num(r.uffdK);
    const exitK = num(r.exitK);
    return vcpus !== undefined && uffdK !== undefined && exitK !== undefined ? [{ vcpus, uffdK, exitK }] : [];
  });
  return { source: typeof p.source === 'string' ? p.source.replace(/\s+/g, ' ') : 'table A', rows };
}
