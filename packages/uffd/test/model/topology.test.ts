/** The host topology: numbering, placement, what a line transfer costs between two threads and among N. */
import test from 'ava';
import { modelDemandPaging, PUBLISHED_COSTS, Sim, SimLock, tableAPoint, Topology, type SimThread, type Step } from '@vcpu-rt/uffd';

const host = (placement: 'compact' | 'spread'): Topology => new Topology({ ...PUBLISHED_COSTS, placement }, PUBLISHED_COSTS);

test('table A host: 256 hardware threads, Linux numbering (SMT siblings 128 apart), a transfer costs more the farther apart', (t) => {
  const h = host('compact');
  t.is(h.threads, 256);
  t.is(h.cores, 128);
  t.is(h.level(0, 0), 'same');
  t.is(h.level(0, 128), 'smt');
  t.is(h.level(0, 7), 'ccx');
  t.is(h.level(0, 8), 'ccd');
  t.is(h.level(0, 63), 'ccd');
  t.is(h.level(0, 64), 'socket');
  t.is(h.level(5, 64 + 128), 'socket');
  const [same, smt, ccx, ccd, socket] = [h.transferUs(3, 3), h.transferUs(3, 131), h.transferUs(3, 4), h.transferUs(3, 20), h.transferUs(3, 100)];
  t.is(same, 0);
  t.true(smt < ccx && ccx < ccd && ccd < socket, `${smt} ${ccx} ${ccd} ${socket}`);
  t.is(ccd, PUBLISHED_COSTS.lineCcdUs);
  t.is(socket, PUBLISHED_COSTS.lineSocketUs);
});

test('placements: compact is thread i; spread is one per CCX (socket 0, then socket 1), then the next core, SMT siblings last', (t) => {
  const c = host('compact');
  t.deepEqual([0, 1, 8, 64, 128, 255, 256].map((i) => c.place(i)), [0, 1, 8, 64, 128, 255, 0]);
  const s = host('spread');
  const first16 = Array.from({ length: 16 }, (_, i) => s.place(i));
  t.deepEqual(first16, [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120]);
  t.is(s.place(16), 1); // second core of socket 0's first CCX
  t.is(s.place(127), 127);
  t.is(s.place(128), 128); // the first SMT sibling only once every core has a thread
  const all = new Set(Array.from({ length: 256 }, (_, i) => s.place(i)));
  t.is(all.size, 256, 'every hardware thread once');
  // A reader runs beside its vCPU: the SMT sibling, or the next thread on a host without SMT.
  t.is(s.beside(8), 136);
  t.is(new Topology({ sockets: 1, ccxPerSocket: 1, coresPerCcx: 2, threadsPerCore: 1, placement: 'compact' }, PUBLISHED_COSTS).beside(1), 0);
});

test('mean transfer among N threads: 2 and 8 spread threads stay on socket 0 (cross-CCD); 16 reach socket 1', (t) => {
  const s = host('spread');
  const hw = (n: number): number[] => Array.from({ length: n }, (_, i) => s.place(i));
  const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12;
  t.true(near(s.meanTransferUs(hw(2)), PUBLISHED_COSTS.lineCcdUs));
  t.true(near(s.meanTransferUs(hw(8)), PUBLISHED_COSTS.lineCcdUs));
  const expect16 = (7 * PUBLISHED_COSTS.lineCcdUs + 8 * PUBLISHED_COSTS.lineSocketUs) / 15;
  t.true(near(s.meanTransferUs(hw(16)), expect16));
  // Compact: 8 threads share a CCX.
  t.true(near(host('compact').meanTransferUs([0, 1, 2, 3, 4, 5, 6, 7]), PUBLISHED_COSTS.lineCcxUs));
});

test('a line bouncing among N threads in turn costs what the placement says per hand-off', (t) => {
  for (const [placement, n] of [['compact', 8], ['compact', 16], ['spread', 16], ['spread', 100]] as const) {
    const topo = host(placement);
    const sim = new Sim(256);
    const line = new SimLock('line', sim, (a: SimThread, b: SimThread) => topo.transferUs(a.hw, b.hw));
    const rounds = 50;
    for (let i = 0; i < n; i++) {
      sim.spawn(`t${i}`, () => (function* (): Generator<Step, void, void> {
        for (let r = 0; r < rounds; r++) {
          yield { k: 'lock', lock: line };
          yield { k: 'cpu', us: 0.01 };
          yield { k: 'unlock', lock: line };
        }
      })(), topo.place(i));
    }
    sim.run();
    // Every thread queues from the start, so the line goes round in thread order, i → i+1, `rounds`
    // times, less the last wrap-around (n-1 → 0) that never comes.
    const hw = Array.from({ length: n }, (_, i) => topo.place(i));
    const ring = hw.reduce((s, a, i) => s + topo.transferUs(a, hw[(i + 1) % n]), 0);
    const expected = (rounds * ring - topo.transferUs(hw[n - 1], hw[0])) / (n * rounds - 1);
    t.is(line.stats.transfers, n * rounds - 1, `${placement} ${n}`);
    t.true(Math.abs(line.stats.transferUs / line.stats.transfers - expected) < 1e-9, `${placement} ${n}: ${line.stats.transferUs / line.stats.transfers} against ${expected}`);
  }
});

test('in the model: one vCPU moves no mm line; two spread vCPUs move each at the cross-CCD cost on average', (t) => {
  const one = modelDemandPaging(tableAPoint(PUBLISHED_COSTS, 1, 'exit', 128));
  t.is(one.model.mm.transfers, 0);
  t.deepEqual(one.model.topology.vcpuThreads, [0]);
  const two = modelDemandPaging(tableAPoint(PUBLISHED_COSTS, 2, 'exit', 1024));
  t.deepEqual(two.model.topology.vcpuThreads, [0, 8]);
  const mean = two.model.mm.transferUs / two.model.mm.transfers;
  // Exponential draws with the level's mean: within a few per cent over thousands of transfers.
  t.true(two.model.mm.transfers > 1000);
  t.true(Math.abs(mean / PUBLISHED_COSTS.lineCcdUs - 1) < 0.05, `mean transfer ${mean}`);
});
