/** Field paths as people write them (`steps[1].vcpus`): in error messages and in `--set`. */

/** One step of a path: a mapping key or a list index. */
export type PathSegment = string | number;

/** `['steps', 1, 'vcpus']` as `steps[1].vcpus`; the empty path is the document itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out ? `.${String(s)}` : String(s);
  }
  return out || '(document)';
}

/** `steps[1].vcpus` as `['steps', 1, 'vcpus']`; undefined when it is not such a path. */
export function parsePath(text: string): PathSegment[] | undefined {
  const out: PathSegment[] = [];
  const re = /^(?:([A-Za-z_][\w-]*)|\[(\d+)\])/;
  let rest = text.trim();
  let first = true;
  while (rest) {
    if (!first && rest.startsWith('.')) rest = rest.slice(1);
    const m = re.exec(rest);
    if (!m || (first && m[2] !== undefined)) return undefined;
    out.push(m[1] ?? Number(m[2]));
    rest = rest.slice(m[0].length);
    first = false;
    if (rest && !rest.startsWith('.') && !rest.startsWith('[')) return undefined;
  }
  return out.length ? out : undefined;
}

/** Does `path` start with `prefix`? */
export function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => s === path[i]);
}
