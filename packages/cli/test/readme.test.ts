/** The package README's example must run as printed. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../../', import.meta.url));

test('the cli README example runs a small memslot benchmark and prints its table', (t) => {
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
  t.regex(out, /100 slots/);
  t.regex(out, /seed: before/);
  t.regex(out, /setup .*\d/);
});
