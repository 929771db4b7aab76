/**
 * `--set <path>=<value>`: a field of the scenario replaced before validation, the value written as
 * YAML (`--set steps[0].vcpus=[1,2]`, `--set steps[1].bytesPerVcpu=4M`). Tests run the shipped
 * scenarios small this way, and so can people.
 */
import { isCollection, isMap, isSeq, parse, type Document } from 'yaml';
import { ScenarioError } from './errors.js';
import { formatPath, parsePath, type PathSegment } from './path.js';

/** One parsed override. */
export interface Override {
  /** As given: `steps[0].vcpus=[1,2]`. */
  text: string;
  path: PathSegment[];
  value: unknown;
}

const fail = (text: string, rule: string, path = '(override)') => new ScenarioError({ override: text }, path, rule);

/** Parses `path=value`; a malformed one is a ScenarioError naming it. */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw fail(text, "must be <path>=<value>, like steps[0].vcpus=[1,2]");
  const path = parsePath(text.slice(0, eq));
  if (!path) throw fail(text, `'${text.slice(0, eq)}' is not a field path (like steps[0].vcpus)`);
  let value: unknown;
  try {
    value = parse(text.slice(eq + 1));
  } catch (e) {
    throw fail(text, `the value is not YAML: ${(e as Error).message.split(/ at line \d+, column \d+/)[0].split('\n')[0]}`, formatPath(path));
  }
  return { text, path, value };
}

/**
 * Applies `overrides` to the document in order. The field's parent must exist (a list index must be
 * one of the list's); the field itself may be new, and then the schema decides whether it is allowed.
 */
export function applyOverrides(doc: Document, overrides: readonly Override[]): void {
  for (const o of overrides) {
    let parent: unknown = doc.contents;
    for (let i = 0; i < o.path.length - 1; i++) {
      const seg = o.path[i];
      const next = isMap(parent) ? parent.get(seg, true) : isSeq(parent) && typeof seg === 'number' ? parent.items[seg] : undefined;
      if (next === undefined || next === null) {
        const rule = isSeq(parent) && typeof seg === 'number' ? `does not exist (the list has ${parent.items.length} entries)`
          : isCollection(parent) ? 'does not exist in the scenario' : `${formatPath(o.path.slice(0, i))} is a value, not a mapping or a list`;
        throw fail(o.text, rule, formatPath(o.path.slice(0, i + 1)));
      }
      parent = next;
    }
    const last = o.path[o.path.length - 1];
    if (isSeq(parent)) {
      if (typeof last !== 'number') throw fail(o.text, 'is a list: index it with [n]', formatPath(o.path.slice(0, -1)));
      if (last >= parent.items.length) throw fail(o.text, `does not exist (the list has ${parent.items.length} entries)`, formatPath(o.path));
    } else if (isMap(parent)) {
      if (typeof last === 'number') throw fail(o.text, 'is a mapping, not a list', formatPath(o.path.slice(0, -1)));
    } else {
      throw fail(o.text, o.path.length > 1 ? 'is a value, not a mapping or a list' : 'the scenario is not a mapping', formatPath(o.path.length > 1 ? o.path.slice(0, -1) : o.path));
    }
    doc.setIn(o.path, doc.createNode(o.value));
  }
}
