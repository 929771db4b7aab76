/**
 * Exit handlers that run in the vCPU's own thread: the VMM's per-vCPU loop, as in QEMU or
 * Firecracker vCPU threads. An exit a handler completes never reaches Vcpu.run().
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VmView } from '@vcpu-rt/core';
import type { KvmExit, KvmRun } from '../kvm-run.js';

/** What a handler factory gets in the vCPU thread. */
export interface VmmEnv {
  vcpuId: number;
  vm: VmView;
  run: KvmRun;
}

/** Handles an exit in the vCPU thread; returns true if it completed it (for an MMIO read, after filling mmio.data). MMIO and memory-fault exit objects are reused: valid until the handler returns. */
export type ExitHandler = (exit: KvmExit) => boolean;

/** Makes a vCPU's handler from its (structured-cloneable) args. */
export type ExitHandlerFactory = (args: unknown, env: VmmEnv) => ExitHandler | Promise<ExitHandler>;

/** A handler to install: a built-in name or 'module:<path>#<export>' naming a factory. */
export interface VmmHandlerSpec {
  handler: string;
  args?: unknown;
}

const BUILTINS: Record<string, ExitHandlerFactory> = {};

/** Adds a built-in handler factory. */
export function registerExitHandler(name: string, f: ExitHandlerFactory): void {
  BUILTINS[name] = f;
}

/** Instantiates the handlers of `specs` in this vCPU thread, in order. */
export async function loadHandlers(specs: readonly VmmHandlerSpec[], env: VmmEnv): Promise<ExitHandler[]> {
  const out: ExitHandler[] = [];
  for (const spec of specs) {
    let factory: ExitHandlerFactory | undefined;
    if (spec.handler.startsWith('module:')) {
      const s = spec.handler.slice('module:'.length);
      const hash = s.lastIndexOf('#');
      if (hash <= 0) throw new TypeError(`handler '${spec.handler}': expected module:<path>#<export>`);
      const file = resolve(s.slice(0, hash));
      let mod: Record<string, unknown>;
      try {
        mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      } catch (e) {
        throw new TypeError(`handler '${spec.handler}': cannot load ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
      factory = mod[s.slice(hash + 1)] as ExitHandlerFactory;
    } else {
      factory = BUILTINS[spec.handler];
    }
    if (typeof factory !== 'function') throw new TypeError(`unknown exit handler '${spec.handler}'`);
    out.push(await factory(spec.args, env));
  }
  return out;
}
