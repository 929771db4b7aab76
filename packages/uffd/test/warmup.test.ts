/**
 * When the demand-paging warm-up stops: a table of per-round allocation figures (bytes per page)
 * and whether warmedUp ends the warm-up after them.
 */
import test from 'ava';
import { MAX_WARMUP_ROUNDS, MIN_WARMUP_ROUNDS, warmedUp } from '@vcpu-rt/uffd';

const rows: [string, number[], boolean][] = [
  ['no round yet', [], false],
  ['one round, allocation-free: the ucall exit has not been seen yet', [0], false],
  ['two rounds, the second allocation-free', [300, 0], true],
  ['two rounds at the same figure: a plateau needs three', [48, 48], false],
  ['falling', [900, 480, 320], false],
  ['the exit path optimized after five rounds', [800, 440, 220, 56, 0.2], true],
  ['under a byte per page is nothing', [500, 0.9], true],
  ['a plateau: the uffd path allocates by design', [430, 48.8, 49.1, 48.5], true],
  ['one round that did not fall is not yet a plateau', [790, 480.7, 480.0], false],
  ['not falling, then falling again', [790, 480.7, 480.0, 320], false],
  ['rising counts as not falling', [100, 40, 60, 70], true],
  [`${MAX_WARMUP_ROUNDS} rounds, still falling: stop anyway`, [1100, 480, 470, 320, 310, 67, 30, 16], true],
];

for (const [name, rounds, done] of rows) {
  test(`warmedUp: ${name} (${rounds.join(', ') || 'none'}) → ${done ? 'stop' : 'another round'}`, (t) => {
    t.is(warmedUp(rounds), done);
  });
}

test('warm-up round bounds', (t) => {
  t.true(MIN_WARMUP_ROUNDS >= 2, 'the second round is the first after a ucall exit');
  t.true(MAX_WARMUP_ROUNDS > MIN_WARMUP_ROUNDS);
});
