/** The simulator core: event order, the CPUs and their run queue, FIFO lock hand-off, sleeping locks, sleeps. */
import test from 'ava';
import { baseSliceUs, modelWakeup, PUBLISHED_COSTS, Sim, SimLock, type SimThread, type Step } from '@vcpu-rt/uffd';

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

test('the CPUs: a thread runs on an idle CPU or waits its turn in a FIFO run queue; a slice ends a turn only if another thread waits', (t) => {
  // baseSliceUs: 750 µs with one CPU, 1500 with two.
  const table: { cpus: number; starts: number[]; work: number[]; ends: number[] }[] = [
    { cpus: 1, starts: [0, 0], work: [10, 10], ends: [10, 20] },
    { cpus: 2, starts: [0, 0, 0], work: [10, 10, 10], ends: [10, 10, 20] },
    // A thread is runnable from its start: the second takes the CPU when the first is done, then waits its 5 µs off it.
    { cpus: 1, starts: [0, 5], work: [10, 10], ends: [10, 25] },
    { cpus: 2, starts: [0, 0], work: [10, 4], ends: [10, 4] }, // no oversubscription: each on its own CPU
    { cpus: 1, starts: [0, 0, 0], work: [3, 6, 9], ends: [3, 9, 18] },
    // Slices of 750 µs: A 0–750, B 750–1500, A 1500–2250, B 2250–3000, A 3000–3500, B 3500–4000.
    { cpus: 1, starts: [0, 0], work: [2000, 2000], ends: [3500, 4000] },
    { cpus: 1, starts: [0], work: [5000], ends: [5000] }, // alone: its slices just renew
  ];
  t.is(baseSliceUs(1), 750);
  t.is(baseSliceUs(2), 1500);
  t.is(baseSliceUs(256), 3000);
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

test('the CPUs: a thread keeps its CPU across its steps, and leaves it when it blocks, waits off the CPU or ends', (t) => {
  const sim = new Sim(1);
  const log: string[] = [];
  sim.spawn('a', () => (function* () {
    yield cpu(5);
    yield cpu(5); // no other thread runs between two steps of a running one
    log.push(`a@${sim.now}`);
    yield delay(100); // off the CPU: b runs
    yield cpu(1);
    log.push(`a@${sim.now}`);
  })());
  sim.spawn('b', () => (function* () {
    yield delay(1);
    yield cpu(20);
    log.push(`b@${sim.now}`);
  })());
  sim.run();
  // b waits for the CPU from its start until a leaves it at 10, waits 1 µs off it, then works 20.
  t.deepEqual(log, ['a@10', 'b@31', 'a@111']);
  t.is(sim.cpus.running, 0);
});

test('the CPUs: a spinlock holder is not preempted at the end of its slice (spin_lock disables preemption); a thread without one is', (t) => {
  for (const held of [true, false]) {
    const sim = new Sim(1);
    const l = new SimLock('l', sim, 0);
    const ends: Record<string, number> = {};
    sim.spawn('a', () => (function* () {
      if (held) yield { k: 'lock', lock: l };
      yield cpu(2000);
      if (held) yield { k: 'unlock', lock: l };
      ends.a = sim.now;
    })());
    sim.spawn('b', () => (function* () {
      yield cpu(10);
      ends.b = sim.now;
    })());
    sim.run();
    // Without the lock, a's slice (750 µs) ends with b waiting: b runs 750–760, a finishes at 2010.
    t.deepEqual(ends, held ? { a: 2000, b: 2010 } : { a: 2010, b: 760 }, `holding a spinlock: ${held}`);
    t.is(sim.cpus.preemptions, held ? 0 : 1);
  }
});

test('the CPUs, home-cpu placement: threads are placed round-robin when they first run and stay; a thread waits for its own CPU while another idles', (t) => {
  for (const placement of ['home-cpu', 'idle-cpu'] as const) {
    const sim = new Sim(2, 0, 0, placement);
    const ends: Record<string, number> = {};
    // a → CPU 0, b → CPU 1, c → CPU 0 (behind a), each 10 µs; b's CPU idles from 10.
    for (const name of ['a', 'b', 'c']) {
      sim.spawn(name, () => (function* () {
        yield cpu(10);
        ends[name] = sim.now;
      })());
    }
    sim.run();
    // home-cpu: c waits for a's CPU; idle-cpu: c also waits (both busy at 0) and takes the first CPU free.
    t.deepEqual(ends, { a: 10, b: 10, c: 20 }, placement);
  }
  // Now b leaves its CPU early: under idle-cpu c takes it; under home-cpu c still waits for CPU 0.
  for (const [placement, cEnd] of [['home-cpu', 20], ['idle-cpu', 12]] as const) {
    const sim = new Sim(2, 0, 0, placement);
    let cAt = -1;
    const homes: number[] = [];
    sim.spawn('a', (self) => (function* () { yield cpu(10); homes.push(sim.cpus.cpuOf(self)); })());
    sim.spawn('b', (self) => (function* () { yield cpu(2); homes.push(sim.cpus.cpuOf(self)); })());
    sim.spawn('c', (self) => (function* () { yield cpu(10); cAt = sim.now; homes.push(sim.cpus.cpuOf(self)); })());
    sim.run();
    t.is(cAt, cEnd, placement);
    t.deepEqual(homes, placement === 'home-cpu' ? [1, 0, 0] : [-1, -1, -1], placement);
  }
});

test('wake-ups (modelWakeup): onto an idle CPU after a sleep up to haltPollUs, wakeupPollUs; after a longer one, wakeupUs; onto a busy CPU, none (queued), the notify cheaper on the waker\'s own CPU', (t) => {
  const costs = { ...PUBLISHED_COSTS, wakePlacement: 'home-cpu' as const, haltPollUs: 10, wakeupPollUs: 20, wakeupUs: 35, wakeupCv: 0, notifyPollUs: 2, notifyUs: 14, notifyBusyUs: 8, notifyLocalUs: 5 };
  const cases = [
    { wakeAt: 5, busy: false, byLocal: false, latency: 20, notify: 2 },
    { wakeAt: 50, busy: false, byLocal: false, latency: 35, notify: 14 },
    { wakeAt: 5, busy: true, byLocal: false, latency: 0, notify: 8 },
    { wakeAt: 5, busy: true, byLocal: true, latency: 0, notify: 5 },
  ];
  for (const { wakeAt, busy, byLocal, latency, notify } of cases) {
    const what = `woken at ${wakeAt}${busy ? ', its CPU busy' : ''}${byLocal ? ' by a thread on it' : ''}`;
    const sim = new Sim(2, 0, 0, 'home-cpu');
    const wakeup = modelWakeup(costs, sim);
    let a: SimThread | undefined;
    let ranAgain = -1;
    let paid = -1;
    const waker = (self: SimThread): Generator<Step, void, void> => (function* () {
      yield delay(wakeAt);
      const w = wakeup(a!, self);
      paid = w.notifyUs;
      sim.wake(a!, w.latencyUs);
    })();
    sim.spawn('a', (self) => (function* () { // CPU 0
      a = self;
      yield { k: 'block' };
      ranAgain = sim.now;
    })());
    sim.spawn('b', (self) => (byLocal ? (function* () { yield cpu(1); })() : waker(self))); // CPU 1
    // CPU 0's second thread: busy until 100 (and the waker, when byLocal).
    if (busy) sim.spawn('c', (self) => (byLocal ? (function* () { yield* waker(self); yield cpu(100 - wakeAt); })() : (function* () { yield cpu(100); })()));
    sim.run();
    t.is(paid, notify, what);
    t.is(ranAgain, busy ? 100 : wakeAt + latency, what);
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

test('the simulation\'s generator repeats from its fixed seed; exponential and log-normal draws have the asked mean (and spread)', (t) => {
  const a = new Sim(1);
  const b = new Sim(1);
  const xs = Array.from({ length: 5 }, () => a.random());
  t.deepEqual(Array.from({ length: 5 }, () => b.random()), xs);
  t.true(xs.every((x) => x >= 0 && x < 1));
  const n = 20000;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a.exponential(0.2);
  t.true(Math.abs(sum / n / 0.2 - 1) < 0.03, `mean ${sum / n}`);
  // Log-normal draws: the asked mean and coefficient of variation; cv 0 is the mean itself.
  const ln = Array.from({ length: n }, () => a.lognormal(30, 0.2));
  const mean = ln.reduce((x, y) => x + y, 0) / n;
  const sd = Math.sqrt(ln.reduce((x, y) => x + (y - mean) ** 2, 0) / n);
  t.true(Math.abs(mean / 30 - 1) < 0.01, `log-normal mean ${mean}`);
  t.true(Math.abs(sd / mean / 0.2 - 1) < 0.05, `log-normal cv ${sd / mean}`);
  t.true(ln.every((x) => x > 0));
  t.is(a.lognormal(30, 0), 30);
});

test('a sleeping lock (SabMutex): a waiter spins and pays its way into the futex on its CPU, then sleeps; the releaser pays its notify, it runs after its wake-up, and a thread may barge in first', (t) => {
  const sim = new Sim(4, 0, 7); // sleepUs 7
  const l = new SimLock('m', sim, 0, 0, { spinUs: 1, wakeup: () => ({ latencyUs: 3, notifyUs: 5 }) });
  const log: string[] = [];
  sim.spawn('a', () => (function* () {
    yield { k: 'lock', lock: l };
    yield cpu(10);
    yield { k: 'unlock', lock: l }; // b spun 0.5–1.5, went to sleep 1.5–8.5: asleep. a pays the notify (5 µs).
    log.push(`a released, notify paid @${sim.now}`);
  })());
  sim.spawn('b', () => (function* () {
    yield delay(0.5);
    yield { k: 'lock', lock: l }; // woken at 10 + 3, tries again at 13: c has it; spins, sleeps again
    log.push(`b@${sim.now}`);
    yield { k: 'unlock', lock: l };
  })());
  sim.spawn('c', () => (function* () {
    yield delay(12);
    yield { k: 'lock', lock: l }; // free at 12: barges in ahead of the sleeper
    log.push(`c@${sim.now}`);
    yield cpu(20);
    yield { k: 'unlock', lock: l }; // at 32; b asleep since 21: notify (c pays 5), b runs at 35 and takes it
  })());
  sim.run();
  t.deepEqual(log, ['c@12', 'a released, notify paid @15', 'b@35']);
  t.is(l.stats.acquisitions, 3, 'a retry is not a new acquisition');
  t.is(l.stats.contended, 1);
  t.is(l.stats.sleeps, 2);
  // b's CPU time: two spins of 1 µs and two ways into the futex of 7 µs; a's 10 + 5, c's 20 + 5.
  t.is(sim.cpus.busyUs(), 2 * (1 + 7) + 15 + 25);
});

test('a sleeping lock: a waiter still spinning or on its way into the futex when the lock is released takes it when that step ends, with no notify and no sleep', (t) => {
  for (const [tryAt, got] of [[1.5, 2.5], [1, 9]] as const) {
    const sim = new Sim(4, 0, 7);
    const l = new SimLock('m', sim, 0, 0, { spinUs: 1, wakeup: () => ({ latencyUs: 3, notifyUs: 5 }) });
    const log: string[] = [];
    sim.spawn('a', () => (function* () {
      yield { k: 'lock', lock: l };
      yield cpu(2.5);
      yield { k: 'unlock', lock: l };
      log.push(`a@${sim.now}`);
    })());
    sim.spawn('b', () => (function* () {
      yield delay(tryAt);
      yield { k: 'lock', lock: l };
      log.push(`b@${sim.now}`);
      yield { k: 'unlock', lock: l };
    })());
    sim.run();
    // Released at 2.5: b tried at 1.5 and spins until 2.5; b tried at 1, spun until 2, goes to sleep until 9.
    t.deepEqual(log, ['a@2.5', `b@${got}`], `tried at ${tryAt}`);
    t.is(l.stats.sleeps, 0);
  }
});

test('going to sleep costs sleepUs of CPU first; a wake-up during it cancels the sleep (futex_wait returns at once)', (t) => {
  for (const [wakeAt, expected] of [[3, 10], [20, 28]] as const) {
    const sim = new Sim(2, 0, 10);
    let a: SimThread | undefined;
    let ranAgain = -1;
    sim.spawn('a', (self) => (function* () {
      a = self;
      yield { k: 'block' }; // pays 10 µs, then sleeps unless woken meanwhile
      ranAgain = sim.now;
    })());
    sim.spawn('b', () => (function* () {
      yield delay(wakeAt);
      sim.wake(a!, 8);
    })());
    sim.run();
    t.is(ranAgain, expected, `woken at ${wakeAt}`);
  }
});
