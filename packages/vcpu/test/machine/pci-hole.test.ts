/** The PCI-hole study: the scan's hole count, and what each strategy costs and does with stray writes. */
import test from 'ava';
import { KVM_EXIT_IO, KVM_EXIT_MMIO } from '@vcpu-rt/core';
import { createVcpu, PCI_HOLE_STRATEGIES, Q35Machine, type PciHoleStrategy } from '@vcpu-rt/vcpu';

interface Scan { holes: number; found: number; accesses: number; mmioExits: number; mmioBus: number; emulated: number }

/** Boots the machine, runs one scan with `strayWrites`, with the VMM in the vCPU thread. */
async function scan(m: Q35Machine, strayWrites: number): Promise<Scan> {
  const v = await createVcpu(m.vm, 0, { guest: 'pci-scan', args: m.scanArgs(strayWrites) }, { vmm: m.vmmHandlers() });
  try {
    const e = await v.run();
    if (e.reason !== KVM_EXIT_IO) throw new Error(`unexpected exit ${e.reason}`);
    const [holes, found, accesses] = e.ucall.values.map(Number);
    const s = v.stats();
    return { holes, found, accesses, mmioExits: s.mmioExits, mmioBus: s.mmioBus, emulated: s.pciHoleEmulated };
  } finally {
    await v.destroy();
  }
}

for (const strategy of PCI_HOLE_STRATEGIES) {
  test(`${strategy}: the Linux-order scan of the default q35 topology finds 6 functions and makes 8193 hole accesses (seed 000)`, async (t) => {
    const m = Q35Machine.create({ strategy });
    t.teardown(() => m.vm.close());
    const r = await scan(m, 0);
    t.is(r.found, 6);
    t.is(r.holes, 8193);
    t.true(Math.abs(r.holes - 8193) / 8193 <= 0.01);
    // Present functions are always served by the userspace host bridge: 18 config accesses, 18 exits.
    t.is(r.accesses - r.holes, 18);
    const expectedExits: Record<PciHoleStrategy, number> = { 'mmio-exit': r.accesses, 'readonly-ff': 18, 'pci-hole': 18, allones: 18, 'mmio-bus': 18 };
    t.is(r.mmioExits, expectedExits[strategy]);
    if (strategy === 'pci-hole') t.is(r.emulated, 8193, 'every hole read is emulated in the kernel');
    if (strategy === 'mmio-bus') t.is(r.mmioBus, 8193, 'every hole read is answered by the in-kernel bus device');
    t.is(m.pci.served(), 18);
  });
}

test('host memory each strategy costs: 0 for pci-hole and mmio-bus, one page for allones, >= 32 MiB for readonly-ff', async (t) => {
  const bytes: Record<string, number> = {};
  for (const strategy of PCI_HOLE_STRATEGIES) {
    const m = Q35Machine.create({ strategy });
    await scan(m, 0);
    bytes[strategy] = m.hostBytes();
    if (strategy === 'readonly-ff') t.is(m.scanHolePages.length, 8193);
    await m.vm.close();
  }
  t.is(bytes['pci-hole'], 0);
  t.is(bytes['mmio-bus'], 0);
  t.is(bytes['mmio-exit'], 0);
  t.is(bytes.allones, 4096);
  t.true(bytes['readonly-ff'] >= 32 * 2 ** 20, `readonly-ff cost ${bytes['readonly-ff']} bytes`);
});

test('stray writes to holes reach userspace and the root port records AER unsupported requests; an mmio-bus device set to discard swallows them', async (t) => {
  const ur: Record<string, number> = {};
  for (const [strategy, discardWrites] of [['pci-hole', false], ['readonly-ff', false], ['allones', false], ['mmio-exit', false], ['mmio-bus', false], ['mmio-bus', true]] as const) {
    const m = Q35Machine.create({ strategy, discardWrites });
    const r = await scan(m, 3);
    ur[`${strategy}${discardWrites ? '+discard' : ''}`] = m.pci.aerUnsupportedRequests();
    if (discardWrites) t.is(r.mmioBus, 8193 + 3);
    await m.vm.close();
  }
  t.deepEqual(ur, { 'pci-hole': 3, 'readonly-ff': 3, allones: 3, 'mmio-exit': 3, 'mmio-bus': 3, 'mmio-bus+discard': 0 });
});

test('with the VMM on the main thread, hole reads exit to the run() caller, which completes them through mmio.data', async (t) => {
  const m = Q35Machine.create({ strategy: 'mmio-exit', buses: 2 });
  t.teardown(() => m.vm.close());
  const v = await createVcpu(m.vm, 0, { guest: 'pci-scan', args: m.scanArgs(0) });
  t.teardown(() => v.destroy());
  let exits = 0;
  for (;;) {
    const e = await v.run();
    if (e.reason === KVM_EXIT_IO) {
      t.deepEqual(e.ucall.values.map(Number), [28 + 5 + 32, 6, 28 + 5 + 32 + 18]);
      break;
    }
    t.is(e.reason, KVM_EXIT_MMIO);
    if (e.reason !== KVM_EXIT_MMIO) return;
    t.true(m.pci.claims(e.mmio.physAddr));
    m.pci.read(e.mmio.physAddr, e.mmio.len, e.mmio.data);
    exits++;
  }
  t.is(exits, 28 + 5 + 32 + 18);
});
