/** The package README's example must run as printed. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../../', import.meta.url));

test('the uffd README example runs both paths of demand_paging_test and checks every page', (t) => {
  const code = /```js\n([\s\S]*?)```/.exec(readFileSync(`${pkg}README.md`, 'utf8'))?.[1];
  t.truthy(code);
  const file = `${pkg}example.readme-test.mjs`;
  writeFileSync(file, code!);
  let out: string;
  try {
    out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  } finally {
    rmSync(file, { force: true });
  }
  t.regex(out, /^uffd path: 2048 pages, overall \d+ pages\/s, every page checked: true, waiters walked per wake: [\d.]+, memory-fault exits: 0, warm-up rounds: \d$/m);
  const exit = /^exit path: 2048 pages, overall \d+ pages\/s, every page checked: true, waiters walked per wake: 0.00, memory-fault exits: (\d+), warm-up rounds: (\d)$/m.exec(out);
  t.truthy(exit, out);
  t.is(Number(exit![1]), 2048 + 2 * 512 * Number(exit![2]), 'one exit per measured page and per warm-up page of each round');
});
