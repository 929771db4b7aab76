/** The calibration's estimators: the halt-poll window from lock sleeps, and the wake-ups' spread. */
import test from 'ava';
import { haltPoll, wakeSpread, type LockSleep } from '#internal/model/calibrate/threads.js';

/** A fixed-seed uniform generator (mulberry32), so the samples repeat. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal samples with mean `mean` and coefficient of variation `cv`. */
function lognormal(n: number, mean: number, cv: number, seed = 1): number[] {
  const r = rng(seed);
  const s2 = Math.log(1 + cv * cv);
  return Array.from({ length: n }, () => mean * Math.exp(Math.sqrt(s2) * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()) - s2 / 2));
}

test('wakeSpread: the log-normal CV of its samples, from the deciles of their logs; small sets left out', (t) => {
  for (const cv of [0.1, 0.2, 0.5, 1]) {
    const est = wakeSpread([lognormal(5000, 30, cv, Math.round(cv * 100))]);
    t.true(Math.abs(est / cv - 1) < 0.08, `cv ${cv}: estimated ${est}`);
  }
  // One preempted sample in a hundred moves it little.
  const xs = lognormal(1000, 30, 0.2, 7);
  for (let i = 0; i < 10; i++) xs[i * 100] = 5000;
  t.true(Math.abs(wakeSpread([xs]) / 0.2 - 1) < 0.15, `with outliers: ${wakeSpread([xs])}`);
  t.is(wakeSpread([]), 0);
  t.is(wakeSpread([[30, 31, 29]]), 0, 'fewer than 10 samples: left out');
  t.is(wakeSpread([lognormal(100, 30, 0, 3)]), 0, 'no spread');
});

test('haltPoll: the sleep length up to which the release\'s notify is the cheap mode; none with one mode or too few sleeps', (t) => {
  const r = rng(11);
  const sleeps = (n: number, window: number, cheap: number, dear: number): LockSleep[] => Array.from({ length: n }, () => {
    const asleep = 40 * r();
    const inWindow = asleep <= window;
    return { asleep, notify: (inWindow ? cheap : dear) * (0.9 + 0.2 * r()), wake: inWindow ? 20 : 35 };
  });
  const cases: { name: string; s: LockSleep[]; window: [number, number] | 0 }[] = [
    { name: 'a window of 10 µs', s: sleeps(400, 10, 2, 15), window: [9, 11] },
    { name: 'a window of 25 µs', s: sleeps(400, 25, 2, 15), window: [24, 26] },
    { name: 'one mode (every notify alike)', s: sleeps(400, 10, 8, 8), window: 0 },
    { name: 'too few sleeps', s: sleeps(15, 10, 2, 15), window: 0 },
  ];
  for (const { name, s, window } of cases) {
    const p = haltPoll(s);
    if (window === 0) {
      t.is(p.us, 0, name);
      t.deepEqual(p.short, [], name);
    } else {
      t.true(p.us >= window[0] && p.us <= window[1], `${name}: ${p.us}`);
      t.true(p.accuracy > 0.95, `${name}: accuracy ${p.accuracy}`);
      t.true(p.short.length > 0 && p.short.every((x) => x.asleep <= p.us && x.wake === 20), name);
    }
  }
});
