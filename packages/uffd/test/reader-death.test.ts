/**
 * A reader thread that dies during a run: in a real VMM, the vCPUs whose faults it would have served
 * sleep in handle_userfault forever ("If the handler process crashes … Firecracker will wait
 * forever"). demandPaging watches its readers' 'exit' events and fails the run at once instead,
 * then tears everything down (closing the uffds wakes the blocked vCPUs, whose faults fail).
 *
 * The tests kill readers with worker.terminate() through demandPaging's `started` hook (which hands
 * over the run's reader Workers and vCPUs), and check that the run rejects within seconds, naming
 * the reader, and leaves no thread behind. Each scenario runs in a child process
 * (fixtures/reader-kill.ts): a hang there can block the calling thread synchronously, which no
 * in-thread timeout could interrupt; the child's watchdog reports the uffd's lock words and kills it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import type { KillRun, KillSpec } from './fixtures/reader-kill.js';
import { MiB } from './_helpers.js';

/** A run must have settled (rejected, cleanup done) this long after the kill. */
const SETTLE_MS = 5_000;
/** The child's watchdog: a run not settled after this is a hang. */
const STUCK_MS = 10_000;
const script = fileURLToPath(new URL('./fixtures/reader-kill.js', import.meta.url));

interface ChildResult {
  runs: KillRun[];
  /** The watchdog's report if a run hung. */
  stuck: string | undefined;
  code: number | null;
  signal: string | null;
  stderr: string;
}

async function runChild(spec: KillSpec, deadlineMs: number): Promise<ChildResult> {
  const child = spawn(process.execPath, [script, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const deadline = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(deadline);
  const runs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as KillRun);
  const stuck = err.split('\n').find((l) => l.startsWith('{"stuck"'));
  return { runs, stuck, code, signal, stderr: err };
}

/** Runs `spec` and asserts: no hang, every run rejected naming its reader, settled fast, nothing left running. */
async function assertEveryKillFailsTheRun(t: ExecutionContext, spec: KillSpec, uffdOf: (victim: number) => number, allowFinished = false): Promise<KillRun[]> {
  const deadline = spec.runs * (STUCK_MS + 5_000) + 10_000;
  t.timeout(deadline + 10_000);
  const r = await runChild(spec, deadline);
  if (r.stuck) t.log(`stuck: ${r.stuck}`);
  t.is(r.stuck, undefined, `run ${r.runs.length} never settled after its reader was killed (demandPaging hung): ${r.stuck ?? ''}`);
  t.is(r.signal, null, `the child was killed (${r.signal}). stderr: ${r.stderr.slice(0, 2000)}`);
  t.is(r.code, 0, `child exit code; stderr: ${r.stderr.slice(0, 2000)}`);
  t.is(r.runs.length, spec.runs, 'every run settled');
  for (const run of r.runs) {
    const what = `run ${run.i}: ${JSON.stringify(run)}`;
    if (run.outcome === 'finished') {
      // Only a kill that landed after the vCPUs finished (the readers are then being stopped) may let the run finish.
      t.true(allowFinished, `the run finished despite a dead reader: ${what}`);
      continue;
    }
    t.true(run.killed, `the reader was killed: ${what}`);
    t.regex(run.message, new RegExp(`^reader thread ${run.victim} \\(uffd ${uffdOf(run.victim)}\\) died during the run`), what);
    t.true(run.killToSettleMs >= 0 && run.killToSettleMs < SETTLE_MS, `settled ${run.killToSettleMs.toFixed(0)} ms after the kill: ${what}`);
    t.true(run.readersEnded, `every reader thread ended: ${what}`);
    t.true(run.vcpusDead, `every vCPU destroyed: ${what}`);
  }
  return r.runs;
}

test.serial('reader death: the only reader killed before the vCPUs run — the run rejects, naming it, instead of hanging', async (t) => {
  const runs = await assertEveryKillFailsTheRun(t, {
    runs: 3, stuckMs: STUCK_MS, seed: 1, victim: 0, when: { kind: 'start' },
    options: { vcpus: 2, bytesPerVcpu: 1 * MiB, mode: 'missing', singleUffd: true, readers: 1, warmupPages: 0 },
  }, () => 0);
  t.log(`settled ${runs.map((r) => r.killToSettleMs.toFixed(0)).join(', ')} ms after the kills`);
});

test.serial('reader death: one of four readers killed mid-run (one uffd, fetch latency 1 ms) — the run rejects within seconds', async (t) => {
  const pages = 2 * 512;
  const runs = await assertEveryKillFailsTheRun(t, {
    runs: 3, stuckMs: STUCK_MS, seed: 2, victim: 2, when: { kind: 'resident', pages: 32 },
    options: { vcpus: 2, bytesPerVcpu: 2 * MiB, mode: 'missing', singleUffd: true, readers: 4, fetchLatencyUs: 1000, warmupPages: 0 },
  }, () => 0);
  for (const r of runs) t.true(r.residentAtKill >= 32 && r.residentAtKill < pages, `killed mid-run (${r.residentAtKill} of ${pages} pages present)`);
  t.log(`pages present at the kills: ${runs.map((r) => r.residentAtKill).join(', ')} of ${pages}; settled ${runs.map((r) => r.killToSettleMs.toFixed(0)).join(', ')} ms later`);
});

test.serial('reader death: the reader of vCPU 1\'s uffd killed mid-run (MINOR, one uffd per vCPU) — the run rejects within seconds', async (t) => {
  // MINOR: the page cache is prefaulted, so the kill waits for guest page faults, not resident pages.
  await assertEveryKillFailsTheRun(t, {
    runs: 3, stuckMs: STUCK_MS, seed: 3, victim: 1, when: { kind: 'pageFaults', perVcpu: 16 },
    options: { vcpus: 2, bytesPerVcpu: 2 * MiB, mode: 'minor', singleUffd: false, readers: 1, fetchLatencyUs: 1000, warmupPages: 0 },
  }, (victim) => victim);
});

test.serial('reader death: with memory-fault exits (-w) the readers serve nothing, but a dead one still fails the run', async (t) => {
  await assertEveryKillFailsTheRun(t, {
    runs: 3, stuckMs: STUCK_MS, seed: 4, victim: 0, when: { kind: 'memoryFaults', perVcpu: 16 },
    options: { vcpus: 2, bytesPerVcpu: 2 * MiB, mode: 'missing', singleUffd: true, readers: 2, exits: true, fetchLatencyUs: 1000, warmupPages: 0 },
  }, () => 0);
});

test.serial('reader death at random moments under contention (8 vCPUs, 4 readers, one uffd, no fetch latency): 40 runs, none hangs', async (t) => {
  // The kill may land anywhere in a reader: parked in poll, in read(), in COPY's wake walk — that is,
  // sometimes while it holds one of the uffd's wait-queue locks.
  const runs = await assertEveryKillFailsTheRun(t, {
    runs: 40, stuckMs: STUCK_MS, seed: 817, victim: 'random', when: { kind: 'delay', maxMs: 30 },
    options: { vcpus: 8, bytesPerVcpu: 256 * 1024, mode: 'missing', singleUffd: true, readers: 4, warmupPages: 0 },
  }, () => 0, true);
  t.log(`${runs.length} runs: ${runs.filter((r) => r.outcome === 'rejected').length} rejected, ${runs.filter((r) => r.outcome === 'finished').length} finished before the kill landed`);
});
