/** The READMEs' examples must run as printed. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../../', import.meta.url));
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** Runs the `nth` ```js block of `readme` from a file in `dir` (so that package imports resolve). */
function runExample(readme: string, dir: string, nth = 0): string {
  const code = [...readFileSync(readme, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)][nth]?.[1];
  if (!code) throw new Error(`${readme} has no js example`);
  const file = `${dir}example.readme-test.mjs`;
  writeFileSync(file, code);
  try {
    return execFileSync(process.execPath, [file], { encoding: 'utf8' });
  } finally {
    rmSync(file, { force: true });
  }
}

test('the core README example runs and prints what its comments say', (t) => {
  const out = runExample(`${pkg}README.md`, pkg);
  t.regex(out, /KVM_CAP_NR_MEMSLOTS = 32764/);
  t.regex(out, /generation 2n/);
  t.regex(out, /dirty bitmap byte 0 = 0b1000\b/);
  t.regex(out, /PCI hole reads Uint8Array\(2\) \[ 255, 255 \]/);
  t.regex(out, /resident host bytes 4096/);
  t.regex(out, /EEXIST -17/);
});

test('the core README userfaultfd example: the faulter sleeps until UFFDIO_COPY, whose walk wakes it', (t) => {
  const out = runExample(`${pkg}README.md`, pkg, 1);
  t.regex(out, /fault at page 1 flags 0/);
  t.regex(out, /the faulting thread read Uint8Array\(4\) \[ 7, 7, 7, 7 \]/);
  t.regex(out, /waiters walked 1 fault_pending_wqh.lock taken 3 times/);
});

test('the root README example runs and prints what its comment says', (t) => {
  t.is(runExample(`${root}README.md`, root).trim(), '1n 1');
});
