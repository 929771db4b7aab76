/** The simulator core: event order, FIFO lock hand-off, processor sharing. */
import test from 'ava';
import { Sim, SimLock, type SimThread, type Step } from '@vcpu-rt/uffd';

const cpu = (us: number): Step => ({ k: 'cpu', us });
const delay = (us: number): Step => ({ k: 'delay', us });

test('events run in time order, and in scheduling order at equal times', (t) => {
  const sim = new Sim(4);
  const log: string[] = [];
  for (const [name, d] of [['a', 5], ['b', 1], ['c', 5], ['d', 0], ['e', 1]] as const) {
    sim.spawn(name, () => (function* () {
      yield delay(d);
      log.push(`${name}@${sim.now}`);
    })());
  }
  sim.run();
  t.deepEqual(log, ['d@0', 'b@1', 'e@1', 'a@5', 'c@5']);
});

test('processor sharing: k threads on p CPUs each advance at min(1, p/k)', (t) => {
  const table: { cpus: number; starts: number[]; work: number[]; ends: number[] }[] = [
    { cpus: 1, starts: [0, 0], work: [10, 10], ends: [20, 20] },
    { cpus: 2, starts: [0, 0, 0], work: [10, 10, 10], ends: [15, 15, 15] },
    { cpus: 1, starts: [0, 5], work: [10, 10], ends: [15, 20] }, // A alone 5 µs, then both at half speed
    { cpus: 2, starts: [0, 0], work: [10, 4], ends: [10, 4] }, // no oversubscription: full speed
    { cpus: 1, starts: [0, 0, 0], work: [3, 6, 9], ends: [9, 15, 18] },
  ];
  for (const row of table) {
    const sim = new Sim(row.cpus);
    const ends: number[] = [];
    row.starts.forEach((s, i) => sim.spawn(`t${i}`, () => (function* () {
      yield delay(s);
      yield cpu(row.work[i]);
      ends[i] = sim.now;
    })()));
    sim.run();
    ends.forEach((e, i) => t.true(Math.abs(e - row.ends[i]) < 1e-9, `${JSON.stringify(row)}: thread ${i} ended at ${e}`));
  }
});

test('a FIFO lock: waiters get it in arrival order, each contended hand-off costs handoffUs', (t) => {
  const sim = new Sim(8);
  const l = new SimLock('l', sim, 0.5);
  const got: string[] = [];
  for (const [name, at] of [['a', 0], ['b', 1], ['c', 2]] as const) {
    sim.spawn(name, (self: SimThread) => (function* () {
      yield delay(at);
      yield { k: 'lock', lock: l };
      got.push(`${self.name}@${sim.now}`);
      yield cpu(10);
      yield { k: 'unlock', lock: l };
    })());
  }
  sim.run();
  // a at 0 (first owner, no transfer); b when a releases at 10 + 0.5; c at 10.5 + 10 + 0.5.
  t.deepEqual(got, ['a@0', 'b@10.5', 'c@21']);
  t.is(l.stats.acquisitions, 3);
  t.is(l.stats.contended, 2);
});

test('a free lock taken by another thread than its last owner pays the line transfer; by the same thread it does not', (t) => {
  const sim = new Sim(2);
  const l = new SimLock('l', sim, 0.25);
  const got: number[] = [];
  sim.spawn('a', () => (function* () {
    for (let i = 0; i < 2; i++) {
      yield { k: 'lock', lock: l };
      got.push(sim.now);
      yield cpu(1);
      yield { k: 'unlock', lock: l };
    }
  })());
  sim.spawn('b', () => (function* () {
    yield delay(5);
    yield { k: 'lock', lock: l };
    got.push(sim.now);
    yield { k: 'unlock', lock: l };
  })());
  sim.run();
  t.deepEqual(got, [0, 1, 5.25]);
});

test('a thread woken before it blocks does not sleep (try_to_wake_up on a running task)', (t) => {
  const sim = new Sim(2);
  let a: SimThread | undefined;
  let wokeAt = -1;
  sim.spawn('a', (self) => (function* () {
    a = self;
    yield cpu(5);
    yield { k: 'block' };
    wokeAt = sim.now;
  })());
  sim.spawn('b', () => (function* () {
    yield delay(1);
    sim.wake(a!, 3);
  })());
  sim.run();
  t.is(wokeAt, 5);
});

test('the simulation\'s generator repeats from its fixed seed; exponential draws have the asked mean', (t) => {
  const a = new Sim(1);
  const b = new Sim(1);
  const xs = Array.from({ length: 5 }, () => a.random());
  t.deepEqual(Array.from({ length: 5 }, () => b.random()), xs);
  t.true(xs.every((x) => x >= 0 && x < 1));
  const n = 20000;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a.exponential(0.2);
  t.true(Math.abs(sum / n / 0.2 - 1) < 0.03, `mean ${sum / n}`);
});
