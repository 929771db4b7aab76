/** The model's mechanism, its cost profiles, and the shape of table A under the published costs. */
import test from 'ava';
import { checkCostProfile, COST_FIELDS, modelDemandPaging, PUBLISHED_COSTS } from '@vcpu-rt/uffd';

const tableA = { cpus: 256, costs: PUBLISHED_COSTS, mode: 'minor', singleUffd: true, readers: 'per-vcpu', bytesPerVcpu: 64 << 20, simPages: 128 } as const;

test('the wake walk visits one record with one waiter; the result has the shape of a real run (API.md)', (t) => {
  const r = modelDemandPaging({ ...tableA, vcpus: 1 });
  t.is(r.pages, 128);
  t.is(r.latency.dist.reduce((a, b) => a + b, 0), 128);
  t.is(r.blocktime.perVcpuUs.length, 1);
  t.true(r.latency.avgUs > 0 && r.latency.p50Us <= r.latency.p99Us);
  t.is(r.uffd.faults, 128);
  t.is(r.uffd.messages, 128);
  t.is(r.uffd.continues, 128);
  t.is(r.exits.memoryFaults, 0);
  t.is(r.uffd.wakes.meanWalked, 1);
  t.is(r.uffd.wakes.maxWalked, 1);
  t.is(r.uffd.wakes.walks, 128);
});

test('with B vCPUs blocked on one uffd and one reader, each walk visits all B', (t) => {
  for (const b of [4, 16]) {
    const r = modelDemandPaging({ ...tableA, vcpus: b, readers: 1 });
    t.is(r.uffd.wakes.maxWalked, b);
    t.true(r.uffd.wakes.meanWalked > b - 1.5, `B=${b}: mean ${r.uffd.wakes.meanWalked}`);
    t.true(r.uffd.locks.faultPendingWqh.acquisitions >= 3 * r.pages);
  }
});

test('the exit path takes no wait-queue lock; one uffd per vCPU spreads the uffd path', (t) => {
  const e = modelDemandPaging({ ...tableA, vcpus: 8, exits: true });
  t.is(e.uffd.locks.faultPendingWqh.acquisitions, 0);
  t.is(e.uffd.wakes.walks, 0);
  const sharded = modelDemandPaging({ ...tableA, vcpus: 8, singleUffd: false, readers: 1 });
  t.true(sharded.uffd.wakes.maxWalked <= 1);
});

test('table A shape under the published costs: the uffd path peaks at 2-8 vCPUs and falls, the exit path saturates, 256 vCPUs differ by at least 80x', (t) => {
  const counts = [1, 2, 4, 8, 16, 64, 256];
  // 512 pages per vCPU: long enough past the start-up transient at 256 vCPUs.
  const u = counts.map((vcpus) => modelDemandPaging({ ...tableA, vcpus, simPages: 512 }).overallRate);
  const e = counts.map((vcpus) => modelDemandPaging({ ...tableA, vcpus, exits: true, simPages: 512 }).overallRate);
  const peak = counts[u.indexOf(Math.max(...u))];
  t.true(peak >= 2 && peak <= 8, `uffd peak at ${peak}`);
  for (let i = counts.indexOf(8); i + 1 < counts.length; i++) t.true(u[i + 1] < u[i], `uffd falls after its peak: ${u.join(', ')}`);
  t.true(e[e.length - 1] / e[e.length - 2] < 1.15, `exit saturates: ${e.join(', ')}`);
  t.true(e[e.length - 1] / u[u.length - 1] >= 80, `ratio at 256: ${e[e.length - 1] / u[u.length - 1]}`);
});

test('two CPUs: oversubscribed threads share them', (t) => {
  const one = modelDemandPaging({ ...tableA, cpus: 2, vcpus: 1, exits: true });
  const eight = modelDemandPaging({ ...tableA, cpus: 2, vcpus: 8, exits: true });
  t.true(eight.model.cpuUtilization > 0.9, `utilization ${eight.model.cpuUtilization}`);
  t.true(eight.overallRate < 2.2 * one.overallRate);
});

test('a cost profile from a file: every bad field is named with its rule', (t) => {
  t.is(COST_FIELDS.length as number, Object.keys(PUBLISHED_COSTS).length - 1);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...PUBLISHED_COSTS, wakeupUs: -1 }, /'wakeupUs' must be a finite number >= 0/],
    [{ ...PUBLISHED_COSTS, wakeupUs: 'fast' }, /'wakeupUs' must be a finite number >= 0 \(got "fast"\)/],
    [{ ...PUBLISHED_COSTS, mmLines: 2.5 }, /'mmLines' is a count and must be an integer/],
    [{ ...PUBLISHED_COSTS, walkPerWaiterNs: 83 }, /'walkPerWaiterNs' is not a cost/],
    [Object.fromEntries(Object.entries(PUBLISHED_COSTS).filter(([k]) => k !== 'exitUs')), /'exitUs' is missing/],
    [{ ...PUBLISHED_COSTS, source: 3 }, /'source' must be a string/],
  ];
  for (const [raw, msg] of cases) t.throws(() => checkCostProfile(raw, 'my.json'), { message: msg });
  t.throws(() => checkCostProfile([], 'my.json'), { message: /my.json: must be a JSON object/ });
  t.deepEqual(checkCostProfile({ ...PUBLISHED_COSTS }), PUBLISHED_COSTS);
});
