/**
 * Source positions of a parsed scenario: which line and column of the file a field path points at,
 * so that validation and engine errors can name them.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './path.js';

/** A 1-based line and column. */
export interface LineCol {
  line: number;
  col: number;
}

/** Positions of the nodes of one YAML document. */
export class SourceMap {
  constructor(private readonly doc: Document, private readonly lines: LineCounter) {}

  /**
   * Where `path` is: its value (or, with `key`, its key) when the path exists in the file; else the
   * deepest existing ancestor, because a missing field is best shown at the mapping that lacks it.
   */
  at(path: readonly PropertyKey[], which: 'value' | 'key' = 'value'): LineCol {
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let best: LineCol = this.pos(node) ?? { line: 1, col: 1 };
    for (const seg of path) {
      const next = child(node, seg as PathSegment);
      if (!next) return best;
      node = next.value;
      keyNode = next.key;
      // A key with no value (`size:`) has an empty scalar at the end of the line: its key is clearer.
      const p = which === 'key' || isEmpty(node) ? this.pos(keyNode) ?? this.pos(node) : this.pos(node) ?? this.pos(keyNode);
      if (p) best = p;
    }
    return best;
  }

  /** Does `path` exist in the file as written? */
  has(path: readonly PropertyKey[]): boolean {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      const next = child(node, seg as PathSegment);
      if (!next) return false;
      node = next.value;
    }
    return true;
  }

  private pos(node: unknown): LineCol | undefined {
    const range = (node as Node | undefined)?.range;
    return range ? this.lines.linePos(range[0]) : undefined;
  }
}

function isEmpty(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null && node.source === '');
}

function child(node: unknown, seg: PathSegment): { key?: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = isScalar(item.key) ? item.key.value : item.key;
      if (String(k) === String(seg)) return { key: item.key, value: item.value };
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) return { value: node.items[seg] };
  return undefined;
}
