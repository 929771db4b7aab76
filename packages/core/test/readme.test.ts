/** The README's example must run as printed. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../../', import.meta.url));

test('the README example runs and prints what its comments say', (t) => {
  const readme = readFileSync(`${pkg}README.md`, 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(code, 'README has a js example');
  const file = `${pkg}example.readme-test.mjs`;
  writeFileSync(file, code!);
  try {
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8' });
    t.regex(out, /KVM_CAP_NR_MEMSLOTS = 32764/);
    t.regex(out, /generation 2n/);
    t.regex(out, /dirty bitmap byte 0 = 0b1000\b/);
    t.regex(out, /PCI hole reads Uint8Array\(2\) \[ 255, 255 \]/);
    t.regex(out, /resident host bytes 4096/);
    t.regex(out, /EEXIST -17/);
  } finally {
    rmSync(file, { force: true });
  }
});
