/**
 * When the demand-paging warm-up stops: a table of per-round allocation figures (bytes per page)
 * and whether warmedUp ends the warm-up after them.
 */
import test from 'ava';
import { MAX_WARMUP_ROUNDS, MIN_WARMUP_ROUNDS, warmedUp } from '@vcpu-rt/uffd';

const rows: [string, 'exit' | 'uffd', number[], boolean][] = [
  ['no round yet', 'exit', [], false],
  ['one round, allocation-free: the ucall exit has not been seen yet', 'exit', [0], false],
  ['two rounds, the second allocation-free', 'exit', [300, 0], true],
  ['the exit path optimized after five rounds', 'exit', [800, 440, 220, 56, 0.2], true],
  ['under a byte per page is nothing', 'exit', [500, 0.9], true],
  ['the exit path on a plateau above zero: tiering is still under way', 'exit', [790, 480.7, 480.0, 479.5], false],
  ['the exit path rising', 'exit', [100, 40, 60], false],
  [`${MAX_WARMUP_ROUNDS} rounds, still falling: stop anyway`, 'exit', [1100, 480, 470, 320, 310, 67, 30, 16], true],
  ['the uffd path falling', 'uffd', [900, 180, 76], false],
  ['the uffd path at its figure: the last round did not fall', 'uffd', [900, 180, 76, 79], true],
  ['the uffd path: within a byte of the last counts as not falling', 'uffd', [430, 48.8, 48.1], true],
  ['the uffd path: one round is never enough', 'uffd', [48], false],
  ['the uffd path allocation-free', 'uffd', [200, 0.5], true],
];

for (const [name, path, rounds, done] of rows) {
  test(`warmedUp (${path}): ${name} (${rounds.join(', ') || 'none'}) → ${done ? 'stop' : 'another round'}`, (t) => {
    t.is(warmedUp(rounds, path), done);
  });
}

test('warm-up round bounds', (t) => {
  t.true(MIN_WARMUP_ROUNDS >= 2, 'the second round is the first after a ucall exit');
  t.true(MAX_WARMUP_ROUNDS > MIN_WARMUP_ROUNDS);
});
