/** The model's mechanism, its cost profiles, and the shape of table A under the published costs. */
import test from 'ava';
import { checkCostProfile, COST_FIELDS, modelDemandPaging, PUBLISHED_COSTS, TABLE_A_ROWS, tableAPoint } from '@vcpu-rt/uffd';

const tableA = { cpus: 256, costs: PUBLISHED_COSTS, mode: 'minor', singleUffd: true, readers: 'per-vcpu', bytesPerVcpu: 64 << 20, simPages: 128 } as const;

test('the wake walk visits one record with one waiter; the result has the shape of a real run (docs/api.md)', (t) => {
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

// The steady-state rates at the fit's page counts (tableASimPages: within about 1% of 4096 pages'; docs/model.md §5): the 18 points take seconds.
const tableAResults = (() => {
  let memo: { uffd: number[]; exit: number[] } | undefined;
  return () => (memo ??= {
    uffd: TABLE_A_ROWS.map((r) => modelDemandPaging(tableAPoint(PUBLISHED_COSTS, r.vcpus, 'uffd')).model.steadyRate),
    exit: TABLE_A_ROWS.map((r) => modelDemandPaging(tableAPoint(PUBLISHED_COSTS, r.vcpus, 'exit')).model.steadyRate),
  });
})();

test('the published profile reproduces every table-A point within ±25%', (t) => {
  const { uffd, exit } = tableAResults();
  const bad: string[] = [];
  TABLE_A_ROWS.forEach((r, i) => {
    for (const [path, model, published] of [['uffd', uffd[i], r.uffdK], ['exit', exit[i], r.exitK]] as const) {
      const err = model / (published * 1000) - 1;
      if (Math.abs(err) > 0.25) bad.push(`${path} ${r.vcpus} vCPUs: ${(model / 1000).toFixed(0)}K against ${published}K (${(100 * err).toFixed(0)}%)`);
    }
  });
  t.deepEqual(bad, []);
});

test('table A shape under the published costs: the uffd path peaks at 2-8 vCPUs and falls, the exit path saturates, 256 vCPUs differ by at least 80x', (t) => {
  const { uffd: u, exit: e } = tableAResults();
  const counts = TABLE_A_ROWS.map((r) => r.vcpus);
  const peak = counts[u.indexOf(Math.max(...u))];
  t.true(peak >= 2 && peak <= 8, `uffd peak at ${peak}`);
  for (let i = counts.indexOf(8); i + 1 < counts.length; i++) t.true(u[i + 1] < u[i], `uffd falls after its peak: ${u.join(', ')}`);
  t.true(e[e.length - 1] / e[e.length - 2] < 1.15 && e[e.length - 2] / e[e.length - 3] < 1.3, `exit saturates: ${e.join(', ')}`);
  t.true(e[e.length - 1] / u[u.length - 1] >= 80, `ratio at 256: ${e[e.length - 1] / u[u.length - 1]}`);
});

test('two CPUs: oversubscribed threads share them', (t) => {
  const one = modelDemandPaging({ ...tableA, cpus: 2, vcpus: 1, exits: true });
  const eight = modelDemandPaging({ ...tableA, cpus: 2, vcpus: 8, exits: true });
  t.true(eight.model.cpuUtilization > 0.9, `utilization ${eight.model.cpuUtilization}`);
  t.true(eight.overallRate < 2.2 * one.overallRate);
});

test('demand_paging_test -d: each reader waits handlerDelayUs off the CPU before serving, so one reader serves at most one fault per d µs', (t) => {
  const base = { cpus: 8, costs: PUBLISHED_COSTS, vcpus: 4, readers: 1, simPages: 64, exits: false };
  const none = modelDemandPaging({ ...base, handlerDelayUs: 0 });
  const delayed = modelDemandPaging({ ...base, handlerDelayUs: 100 });
  // One reader, 100 µs per message before its own work: at most 10 K messages/s.
  t.true(delayed.overallRate <= 10_000, `rate with -d 100 and one reader: ${delayed.overallRate.toFixed(0)} pages/s`);
  t.true(delayed.overallRate > 8_000, `the delay is the bound, not more: ${delayed.overallRate.toFixed(0)} pages/s`);
  t.true(none.overallRate > 5 * delayed.overallRate);
  // The exit path has no reader in the way.
  const exits = modelDemandPaging({ ...base, exits: true, handlerDelayUs: 100 });
  t.true(exits.overallRate > 5 * delayed.overallRate);
});

test('a cost profile from a file: every bad field is named with its rule', (t) => {
  t.is(COST_FIELDS.length as number, Object.keys(PUBLISHED_COSTS).length - 3); // all but source, placement and wakePlacement
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...PUBLISHED_COSTS, wakeupUs: -1 }, /'wakeupUs' must be a finite number >= 0/],
    [{ ...PUBLISHED_COSTS, wakeupUs: 'fast' }, /'wakeupUs' must be a finite number >= 0 \(got "fast"\)/],
    [{ ...PUBLISHED_COSTS, mmLines: 2.5 }, /'mmLines' is a count and must be an integer/],
    [{ ...PUBLISHED_COSTS, walkPerWaiterNs: 83 }, /'walkPerWaiterNs' is not a cost/],
    [Object.fromEntries(Object.entries(PUBLISHED_COSTS).filter(([k]) => k !== 'exitUs')), /'exitUs' is missing/],
    [{ ...PUBLISHED_COSTS, source: 3 }, /'source' must be a string/],
    [{ ...PUBLISHED_COSTS, placement: 'scattered' }, /'placement' must be one of compact, spread \(got "scattered"\)/],
    [Object.fromEntries(Object.entries(PUBLISHED_COSTS).filter(([k]) => k !== 'placement')), /'placement' must be one of compact, spread \(got undefined\)/],
    [{ ...PUBLISHED_COSTS, wakePlacement: 'anywhere' }, /'wakePlacement' must be one of idle-cpu, home-cpu \(got "anywhere"\)/],
    [{ ...PUBLISHED_COSTS, wakeupCv: -0.1 }, /'wakeupCv' must be a finite number >= 0/],
    [{ ...PUBLISHED_COSTS, sockets: 0 }, /'sockets' is a count of the host's parts and must be in \[1, 4096\]/],
    [{ ...PUBLISHED_COSTS, coresPerCcx: 1.5 }, /'coresPerCcx' is a count and must be an integer/],
    [{ ...PUBLISHED_COSTS, lineSocketUs: -0.1 }, /'lineSocketUs' must be a finite number >= 0/],
    [{ ...PUBLISHED_COSTS, sockets: 64, ccxPerSocket: 64, coresPerCcx: 64 }, /the topology has 524288 hardware threads/],
  ];
  for (const [raw, msg] of cases) t.throws(() => checkCostProfile(raw, 'my.json'), { message: msg });
  t.throws(() => checkCostProfile([], 'my.json'), { message: /my.json: must be a JSON object/ });
  t.deepEqual(checkCostProfile({ ...PUBLISHED_COSTS }), PUBLISHED_COSTS);
});
