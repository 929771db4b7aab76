/**
 * A result document made from real runs at the smallest sizes that still exercise every chart,
 * and helpers that read the report's HTML back as a browser's DOM would.
 */
import { DomUtils, parseDocument } from 'htmlparser2';
import {
  benchDemandPaging, benchMemslots, benchPciHole, benchVcpu, machineInfo, PCI_HOLE_PUBLISHED, PCI_HOLE_PUBLISHED_SOURCE, PUBLISHED, PUBLISHED_SOURCE,
  resultDocument, TABLE_A, TABLE_A_SOURCE, type ResultDocument,
} from '@vcpu-rt/cli';
import { modelSweep, PUBLISHED_COSTS } from '@vcpu-rt/uffd';

/** An element of the parsed page. */
export type El = ReturnType<typeof DomUtils.findAll>[number];

/** Model sweep counts of the fixture. */
export const MODEL_COUNTS = [1, 2, 4];

/** Runs the benches small and gathers their `--json` documents as sections, as `--out` and `run` do. */
export async function smallResult(): Promise<ResultDocument> {
  const startedAt = new Date();
  const machine = machineInfo();
  const dp = await benchDemandPaging({ vcpus: [1, 2], paths: ['uffd', 'exit'], repeats: 1, bytesPerVcpu: 1 << 20, warmupPages: 0 });
  const model = await modelSweep(MODEL_COUNTS.flatMap((vcpus) => [false, true].map((exits) => ({ vcpus, exits, cpus: 256, costs: PUBLISHED_COSTS, simPages: 64 }))));
  const check = await modelSweep(dp.map((r) => ({ vcpus: r.vcpus, exits: r.path === 'exit', cpus: machine.cpus, costs: PUBLISHED_COSTS, simPages: 64 })));
  const ms = await benchMemslots({ slots: [10], impls: ['tree', 'array'], repeats: 1, moveSeconds: 0.05 });
  const pci = await benchPciHole({ strategies: ['mmio-exit', 'readonly-ff', 'pci-hole', 'allones', 'mmio-bus'], vmm: ['vcpu-thread'], repeats: 1, strayWrites: 0 });
  const vcpu = await benchVcpu(1);
  const tableA = { source: TABLE_A_SOURCE, rows: TABLE_A };
  return resultDocument([
    { kind: 'bench-demand-paging', title: 'Demand paging', command: 'vcpu-rt bench demand-paging -v 1,2 -b 1M --repeat 1 --warmup-pages 0', data: { bench: 'demand-paging', machine, published: tableA, results: dp } },
    { kind: 'model-demand-paging', title: 'Model', command: 'vcpu-rt model demand-paging -v 1,2,4 --sim-pages 64', data: { model: 'demand-paging', machine, costs: PUBLISHED_COSTS, wallSeconds: 1, published: tableA, results: model } },
    {
      kind: 'model-validate', title: 'Validate', data: {
        validate: 'demand-paging', machine, costs: PUBLISHED_COSTS, published: { source: 'none', reference: 'real' },
        rows: dp.map((r, i) => ({ path: r.path, vcpus: r.vcpus, real: r.overall.median, min: r.overall.min, max: r.overall.max, model: check[i].overallRate, error: check[i].overallRate / r.overall.median - 1 })),
      },
    },
    { kind: 'bench-memslots', title: 'Memslots', command: 'vcpu-rt bench memslots --slots 10 --repeat 1', data: { bench: 'memslots', machine, published: { source: PUBLISHED_SOURCE, figures: PUBLISHED }, results: ms } },
    { kind: 'bench-pci-hole', title: 'PCI hole', data: { bench: 'pci-hole', machine, vmm: 'vcpu-thread', results: pci, otherPlacements: [], published: { source: PCI_HOLE_PUBLISHED_SOURCE, ...PCI_HOLE_PUBLISHED } } },
    { kind: 'bench-vcpu', title: 'Hit path', data: { bench: 'vcpu', machine, results: vcpu } },
    // The shape of scenario/vm/data.ts, made up: the scenario runner's own tests run real VMs.
    {
      kind: 'vm', title: 'A VM over time', data: {
        vm: 'scenario', title: 'churn under load', machine, design: 'tree', seconds: 1.2,
        units: { accessesPerSecond: 'guest accesses/s', dirtyPages: 'pages per interval' },
        series: Array.from({ length: 12 }, (_, i) => ({ t: i / 10, accessesPerSecond: 1e6 + i * 1e4, dirtyPages: i * 3 })),
        vcpuSeries: Array.from({ length: 24 }, (_, i) => ({ t: (i >> 1) / 10, vcpu: i & 1, accessesPerSecond: 5e5 + i, tlbMisses: 0, pageFaults: 0, mmioExits: 0 })),
        actions: [{ t: 0.5, action: 'dontneed', detail: 'region a', us: 12 }],
        dirtyRounds: [{ t: 0.3, slot: 1, dirtyPages: 9, slotPages: 256, getUs: 4, clearUs: 0 }],
        mmu: { zapped: 3, writeProtected: 0, tlbFlushes: 1 },
      },
    },
    { kind: 'no-such-kind', title: 'Something newer', data: { hello: 'world' } },
  ], startedAt);
}

/** A parsed page. */
export type Page = ReturnType<typeof parseDocument>;

/** The parsed page. */
export function parse(html: string): Page {
  return parseDocument(html);
}

/** Elements under `root` whose class list has every one of `classes`. */
export function byClass(root: El[] | ReturnType<typeof parseDocument>, ...classes: string[]): El[] {
  const nodes = Array.isArray(root) ? root : root.children;
  return DomUtils.findAll((el) => {
    const c = (DomUtils.getAttributeValue(el, 'class') ?? '').split(/\s+/);
    return classes.every((x) => c.includes(x));
  }, nodes);
}

/** The `<section>` of kind `kind`. */
export function section(doc: Page, kind: string): El {
  const s = DomUtils.findOne((el) => el.name === 'section' && DomUtils.getAttributeValue(el, 'data-kind') === kind, doc.children);
  if (!s) throw new Error(`no section of kind ${kind}`);
  return s;
}

/** The figure of chart family `chart` in a section. */
export function chart(sec: El, name: string): El {
  const f = DomUtils.findOne((el) => el.name === 'figure' && DomUtils.getAttributeValue(el, 'data-chart') === name, [sec]);
  if (!f) throw new Error(`no ${name} chart`);
  return f;
}

/**
 * The data marks vega drew of one type (`symbol` for points, `rect` for bars, `rule`, `line`):
 * the children of its `role-mark` groups, so axes, grids and legends never count.
 */
export function marks(fig: El, type: 'symbol' | 'rect' | 'rule' | 'line'): number {
  return byClass([fig], `mark-${type}`, 'role-mark').reduce((n, g) => n + g.children.filter((c) => c.type === 'tag').length, 0);
}

/** Every `<svg>` in a page or under an element. */
export function svgs(root: El | Page): El[] {
  return DomUtils.findAll((x) => x.name === 'svg', 'name' in root ? [root] : root.children);
}

/** The text of every table cell under `el`. */
export function cells(el: El): string[] {
  return DomUtils.findAll((x) => x.name === 'td' || x.name === 'th', [el]).map((x) => DomUtils.textContent(x).trim());
}

/** Every attribute value in the page, with its element and attribute names. */
export function attributes(doc: Page): { el: string; name: string; value: string }[] {
  return DomUtils.findAll(() => true, doc.children).flatMap((el) => Object.entries(el.attribs).map(([name, value]) => ({ el: el.name, name, value })));
}

/** htmlparser2's DOM helpers, for tests that look further. */
export { DomUtils };
