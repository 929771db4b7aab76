/** The benchmarks run end to end at small sizes and report what docs/api.md says. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchMemslots, benchPciHole, hitPath, memslotTable, pciHoleTable, machineInfo, MEMSLOT_TESTS } from '@vcpu-rt/cli';

test('bench memslots: every test for both designs, with median and spread', async (t) => {
  // Move repeats long enough for the guest vCPU to run during them even on a loaded 2-core machine.
  const results = await benchMemslots({ slots: [10, 40], impls: ['tree', 'array'], repeats: 2, moveSeconds: 0.15 });
  for (const slots of [10, 40]) {
    for (const impl of ['tree', 'array'] as const) {
      for (const test of MEMSLOT_TESTS) {
        const r = results.find((x) => x.slots === slots && x.test === test && x.impl === impl);
        t.truthy(r, `${test} ${impl} ${slots}`);
        t.true(r!.seconds > 0 && r!.min <= r!.seconds && r!.seconds <= r!.max && r!.iterations > 0);
      }
    }
  }
  // The move guest saw the moved slot vanish (MMIO) only in the active test.
  t.true(results.filter((r) => r.test === 'move-active').every((r) => r.guest!.mmioExits > 0));
  t.true(results.filter((r) => r.test === 'move-inactive').every((r) => r.guest!.mmioExits === 0));
  const table = memslotTable(results, machineInfo());
  t.regex(table, /published before|seed: before/);
  t.true(table.split('\n').every((l) => l.length <= 120), table);
  t.regex(memslotTable(results, machineInfo(), { wide: true }), /\d \[[\d.e+-]+, [\d.e+-]+\]/);
});

test('bench pci-hole: one row per strategy, 8193 hole accesses each', async (t) => {
  const results = await benchPciHole({ strategies: ['mmio-exit', 'pci-hole'], vmm: ['vcpu-thread'], repeats: 1, strayWrites: 0 });
  t.is(results.length, 2);
  for (const r of results) {
    t.is(r.holeAccesses, 8193);
    t.true(r.seconds > 0 && r.accesses > r.holeAccesses);
  }
  t.is(results[0].exits, results[0].accesses);
  t.is(results[1].hostBytes, 0);
  t.regex(pciHoleTable(results, machineInfo()), /8193/);
});

test('bench pci-hole: the VMM on the main thread answers every exit through KVM_RUN, polling or sleeping as its runPollNs says', async (t) => {
  const results = await benchPciHole({ strategies: ['mmio-exit', 'pci-hole'], vmm: ['main-thread', 'main-thread-nopoll'], repeats: 1, strayWrites: 0, runPollNs: 50_000 });
  t.deepEqual(results.map((r) => `${r.strategy}/${r.vmm}`), ['mmio-exit/main-thread', 'mmio-exit/main-thread-nopoll', 'pci-hole/main-thread', 'pci-hole/main-thread-nopoll']);
  for (const r of results) t.is(r.holeAccesses, 8193);
  const [polled, slept] = results;
  t.is(polled.exits, polled.accesses);
  t.is(polled.runPollNs, 50_000);
  t.true(polled.poll.vcpu.successfulPolls + polled.poll.vmm.successfulPolls > 0, JSON.stringify(polled.poll));
  t.true(polled.poll.vcpu.windowNs <= 50_000 && polled.poll.vmm.windowNs <= 50_000);
  t.is(slept.runPollNs, 0);
  t.deepEqual(slept.poll, { vcpu: { successfulPolls: 0, failedPolls: 0, windowNs: 0 }, vmm: { successfulPolls: 0, failedPolls: 0, windowNs: 0 } });
  const table = pciHoleTable(results, machineInfo());
  t.regex(table, /KVM_RUN handoff polling \(runPollNs 50000\): [\d.]+ \/ [\d.]+ µs = [\d.]+x/);
  t.regex(table, /handoff sleeping on the futex: [\d.]+ \/ [\d.]+ µs = [\d.]+x/);
  t.true(table.split('\n').every((l) => l.length <= 120), table);
  t.regex(pciHoleTable(results, machineInfo(), { wide: true }), /first scan ms/);
});

test('bench vcpu: the hit path reports a positive rate', async (t) => {
  const r = await hitPath(1, 'read', 1);
  t.is(r.vcpus, 1);
  t.true(r.accessesPerSecond > 0);
});

test('bench demand-paging: both paths per vCPU count, every page checked, table A beside ours', async (t) => {
  const { benchDemandPaging, demandPagingTable, TABLE_A } = await import('@vcpu-rt/cli');
  const lines: string[] = [];
  const rows = await benchDemandPaging({ vcpus: [1, 2], paths: ['uffd', 'exit'], repeats: 2, bytesPerVcpu: 1 << 20, warmupPages: 256, progress: (l) => lines.push(l) });
  t.deepEqual(rows.map((r) => `${r.path}/${r.vcpus}`), ['uffd/1', 'exit/1', 'uffd/2', 'exit/2']);
  t.is(lines.length, 8);
  for (const r of rows) {
    t.is(r.verify.badPages, 0);
    t.is(r.verify.wrongWords, 0);
    t.is(r.overall.repeats, 2);
    t.true(r.overall.min <= r.overall.median && r.overall.median <= r.overall.max);
    t.is(r.pages, r.vcpus * 256);
    if (r.path === 'uffd') t.is(r.exits.memoryFaults, 0);
    else t.is(r.uffd.faults, 0);
  }
  t.is(rows[2].oversubscribed, rows[2].vcpus + rows[2].readers.threads > (await import('node:os')).availableParallelism());
  const table = demandPagingTable(rows, { cpus: 2, node: 'v20', cpuModel: 'test' });
  t.regex(table, /150\/340 = 2\.27x/);
  t.regex(table, /191\/477 = 2\.50x/);
  t.true(table.split('\n').every((l) => l.length <= 120), table);
  t.is(TABLE_A.length, 9);
});

test('vcpu-rt bench demand-paging refuses nonsense with the option and the rule', (t) => {
  const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
  for (const [args, msg] of [
    [['-v', '0'], /--vcpus: each value must be an integer in \[1, 64\]/],
    [['-v', '1,1'], /--vcpus: a value appears twice/],
    [['-b', '1000'], /--bytes-per-vcpu must be a multiple of 4096 bytes/],
    [['-u', 'WP'], /--uffd-mode must be MISSING or MINOR/],
    [['--path', 'uffd,kvm'], /--path: each value must be one of uffd, exit/],
    [['--repeat', '1e9'], /--repeat must be an integer in \[1, 100\]/],
    [['-r', '0'], /--readers must be an integer in \[1, 256\]/],
    [['--wake', 'some'], /--wake must be all or exclusive/],
  ] as const) {
    const r = spawnSync(process.execPath, [main, 'bench', 'demand-paging', ...args], { encoding: 'utf8' });
    t.not(r.status, 0, args.join(' '));
    t.regex(r.stderr, msg, args.join(' '));
  }
});

test('vcpu-rt refuses nonsense options fast, naming the option and the rule; --version', (t) => {
  const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
  const table: [string[], RegExp][] = [
    [['bench', 'memslots', '--repeat', '1e9'], /--repeat must be an integer in \[1, 100\]/],
    [['bench', 'memslots', '--move-seconds', 'abc'], /--move-seconds must be a number of seconds in \(0, 60\]/],
    [['bench', 'memslots', '--move-seconds', ''], /--move-seconds must be a number of seconds/],
    [['bench', 'memslots', '--slots', '10,10'], /--slots: a value appears twice/],
    [['bench', 'memslots', '--impl', 'tree,tree'], /--impl: a value appears twice/],
    [['bench', 'pci-hole', '--vmm', 'vcpu-thread,vcpu-thread'], /--vmm: a value appears twice/],
    [['bench', 'pci-hole', '--stray-writes', '-1'], /--stray-writes must be an integer in \[0, 100000\]/],
    [['bench', 'vcpu', '--repeat', '0'], /--repeat must be an integer in \[1, 1000\]/],
    [['bench', 'model', '--repeat', 'x'], /--repeat must be an integer in \[1, 100\]/],
  ];
  for (const [args, msg] of table) {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20_000 });
    t.not(r.status, 0, args.join(' '));
    t.regex(r.stderr, msg, args.join(' '));
    t.true(Date.now() - t0 < 10_000, `${args.join(' ')} took ${Date.now() - t0} ms to refuse`);
  }
  const v = spawnSync(process.execPath, [main, '--version'], { encoding: 'utf8' });
  t.regex(v.stdout, /^\d+\.\d+\.\d+$/m);
});
