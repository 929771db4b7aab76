/** calibrateCosts (quick): a measured profile of this machine, every field present, finite and plausible. */
import os from 'node:os';
import test from 'ava';
import { calibrateCosts, checkCostProfile, COST_FIELDS, type CostProfile } from '@vcpu-rt/uffd';

/** Bounds of each field, µs (mmLines: lines): orders of magnitude, not tight figures. The machine may be shared and busy. */
const BOUNDS: Record<(typeof COST_FIELDS)[number], [number, number]> = {
  guestUs: [0, 100],
  faultEntryUs: [0.001, 100],
  enqueueHoldUs: [0.001, 100],
  mustWaitUs: [0.001, 100],
  fdWakeHoldUs: [0, 100],
  fdWakePerEntryUs: [0.001, 1000],
  wakeupUs: [1, 20000], // onto an idle vCPU its host descheduled: tens of µs, rarely a millisecond or more
  wakeupPollUs: [0.1, 20000],
  haltPollUs: [0, 1e6], // 0 when the lock sleeps' notifies have one mode
  wakeupCv: [0, 50], // about 0.2 on an idle machine; wide when the suite loads the CPUs around the ping-pongs
  sleepUs: [0.1, 1000], // a futex sleep and wake-up's CPU: a few µs in a guest with mitigations
  cpuContention: [0, 10],
  readHoldUs: [0, 100],
  refileHoldUs: [0.001, 100],
  readerSyscallUs: [0, 100],
  continueUs: [0.001, 100],
  copyUs: [0.01, 1000],
  wakeHoldUs: [0.001, 1000],
  walkPerWaiterUs: [0, 10],
  lineSmtUs: [0.001, 100],
  lineCcxUs: [0.001, 100],
  lineCcdUs: [0.001, 100],
  lineSocketUs: [0.001, 100],
  wqLines: [0, 1e5],
  handoffPerWaiterUs: [0, 0],
  lockSpinUs: [0.01, 100], // SabMutex's spin: 100 compare-exchanges
  notifyUs: [0, 1000],
  notifyPollUs: [0, 1000],
  notifyLocalUs: [0, 1000],
  notifyBusyUs: [0, 1000],
  faultRetryUs: [0.001, 1000],
  exitUs: [0, 1000],
  claimUs: [0.0001, 10],
  reenterUs: [0.001, 100],
  mmLines: [1, 64],
  mmHoldUs: [0.0001, 10],
  sockets: [1, 1],
  ccxPerSocket: [1, 1],
  coresPerCcx: [1, 4096],
  threadsPerCore: [1, 1],
};

test('quick calibration: every field measured, finite and plausible; the profile passes checkCostProfile', async (t) => {
  const lines: string[] = [];
  const t0 = performance.now();
  const p: CostProfile = await calibrateCosts({ quick: true, progress: (l) => lines.push(l) });
  const seconds = (performance.now() - t0) / 1000;
  t.log(`${seconds.toFixed(1)} s\n${lines.join('\n')}\n${JSON.stringify(p, null, 2)}`);

  t.notThrows(() => checkCostProfile(p, 'measured'));
  t.deepEqual(Object.keys(p).filter((k) => k !== 'source' && k !== 'placement' && k !== 'wakePlacement').sort(), [...COST_FIELDS].sort());
  t.true(['idle-cpu', 'home-cpu'].includes(p.wakePlacement), p.wakePlacement);
  // This machine as the profile describes it: one flat group of its CPUs, threads placed one per CPU.
  t.is(p.placement, 'compact');
  t.is(p.coresPerCcx, os.availableParallelism());
  for (const k of COST_FIELDS) {
    const v = p[k];
    t.true(typeof v === 'number' && Number.isFinite(v), `${k} = ${String(v)}`);
    const [lo, hi] = BOUNDS[k];
    t.true(v >= lo && v <= hi, `${k} = ${v}, expected in [${lo}, ${hi}]`);
  }
  t.true(Number.isInteger(p.mmLines));
  // The resolution of a page costs more with a 4 KiB copy into a new frame than with CONTINUE's PTE alone.
  t.true(p.copyUs > p.continueUs, `copyUs ${p.copyUs} <= continueUs ${p.continueUs}`);
  // A walk's visit of one more waiter is far cheaper than waking a thread.
  t.true(p.walkPerWaiterUs < p.wakeupUs);

  t.true(p.source.startsWith('measured: '));
  t.true(p.source.includes(`availableParallelism() = ${os.availableParallelism()}`), p.source);
  t.true(p.source.includes(process.version), p.source);
  t.regex(p.source, /\d{4}-\d\d-\d\dT/);
  t.true(lines.some((l) => l.includes('wake-up')) && lines.some((l) => l.includes('exit path')) && lines.some((l) => l.includes('uffd path')));
  t.true(seconds < 60, `quick calibration took ${seconds.toFixed(1)} s`);
});
