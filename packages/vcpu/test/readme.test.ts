/** The package README's example must run as printed. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../../', import.meta.url));

test('the vcpu README example runs the VMM loop it describes', (t) => {
  const code = /```js\n([\s\S]*?)```/.exec(readFileSync(`${pkg}README.md`, 'utf8'))?.[1];
  t.truthy(code);
  const file = `${pkg}example.readme-test.mjs`;
  writeFileSync(file, code!);
  let out: string;
  try {
    out = execFileSync(process.execPath, [file], { encoding: 'utf8' });
  } finally {
    rmSync(file, { force: true });
  }
  t.regex(out, /MMIO write of 8 bytes at 0xc0000400/);
  t.regex(out, /MMIO read of 4 bytes at 0xfed00000/);
  t.regex(out, /ucall done \[ 42, 255, 305419896 \]/);
});
