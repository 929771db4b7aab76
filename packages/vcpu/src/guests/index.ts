/** Built-in guests by name, and loading of `module:<path>#<export>` guests. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GuestContext } from '../guest.js';
import { opsGuest } from './ops.js';
import { pciScanGuest } from './pci-scan.js';
import { memstressGuest } from './memstress.js';
import { memslotPerfGuest } from './memslot-perf.js';

/** A guest as the vCPU thread runs it: values it returns go into the final `done` ucall. */
export type BuiltinGuest = (ctx: GuestContext, args: unknown) => void | (number | bigint)[] | Promise<void | (number | bigint)[]>;

const BUILTINS: Record<string, BuiltinGuest> = {
  ops: opsGuest,
  'pci-scan': pciScanGuest,
  memstress: memstressGuest,
  'memslot-perf': memslotPerfGuest,
};

/** Names of the built-in guests. */
export const BUILTIN_GUESTS = (): string[] => Object.keys(BUILTINS);

/** Adds a built-in guest (used by the packages that define the seeds' workloads). */
export function registerBuiltinGuest(name: string, g: BuiltinGuest): void {
  BUILTINS[name] = g;
}

/** Resolves a guest name: a built-in, or `module:<path>#<export>` (path relative to the working directory). */
export async function loadGuest(name: string): Promise<BuiltinGuest> {
  if (typeof name !== 'string') throw new TypeError('guest must be a string');
  if (name.startsWith('module:')) {
    const spec = name.slice('module:'.length);
    const hash = spec.lastIndexOf('#');
    if (hash <= 0 || hash === spec.length - 1) throw new TypeError(`guest '${name}': expected module:<path>#<export>`);
    const file = resolve(spec.slice(0, hash));
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (e) {
      // A syntax error's own message does not say which file it is in.
      throw new TypeError(`guest '${name}': cannot load ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    const fn = mod[spec.slice(hash + 1)];
    if (typeof fn !== 'function') throw new TypeError(`guest '${name}': export '${spec.slice(hash + 1)}' is not a function`);
    return fn as BuiltinGuest;
  }
  const g = BUILTINS[name];
  if (!g) throw new TypeError(`unknown guest '${name}' (built-ins: ${Object.keys(BUILTINS).join(', ')}; or module:<path>#<export>)`);
  return g;
}
