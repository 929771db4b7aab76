/**
 * The report of a result made from real small runs: each section has its charts, each chart one
 * mark per data row (ours and the published ones), the tables carry the published figures, nothing
 * in the page reaches the network, and a real browser draws it (headless Chromium, where installed).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { PUBLISHED, renderReport, TABLE_A, type DemandPagingRow, type ResultDocument } from '@vcpu-rt/cli';
import { attributes, byClass, cells, chart, DomUtils, marks, MODEL_COUNTS, parse, section, smallResult, svgs } from './fixture.js';

let made: Promise<{ doc: ResultDocument; html: string }> | undefined;
/** One set of runs for every test of this file. */
function report() {
  made ??= smallResult().then(async (doc) => ({ doc, html: await renderReport(doc) }));
  return made;
}

const data = (doc: ResultDocument, kind: string) => doc.sections.find((s) => s.kind === kind)!.data as Record<string, unknown>;

test('demand paging: rate, ratio, latency and blocktime charts with one mark per row, ours beside table A', async (t) => {
  const { doc, html } = await report();
  const sec = section(parse(html), 'bench-demand-paging');
  t.is(svgs(sec).length, 4);
  const rows = data(doc, 'bench-demand-paging').results as DemandPagingRow[];
  // 2 vCPU counts × 2 paths of ours, and table A's 9 rows × 2 paths.
  t.is(marks(chart(sec, 'paging-rate'), 'symbol'), rows.length + 2 * TABLE_A.length);
  t.is(marks(chart(sec, 'paging-rate'), 'rule'), rows.length, 'a [min, max] bar per row of ours');
  t.is(marks(chart(sec, 'paging-rate'), 'line'), 4, 'both paths, ours and table A');
  t.is(marks(chart(sec, 'ratio'), 'symbol'), 2 + TABLE_A.length);
  // The histogram: both paths, from the first bucket either used to the last.
  const top = rows.filter((r) => r.vcpus === 2);
  const used = top.flatMap((r) => r.latency.dist.flatMap((n, i) => (n > 0 ? [i] : [])));
  t.is(marks(chart(sec, 'latency'), 'rect'), 2 * (Math.max(...used) - Math.min(...used) + 1));
  t.is(marks(chart(sec, 'blocktime'), 'rect'), 2 * 2, 'one bar per path and vCPU');
  const text = cells(sec);
  for (const a of TABLE_A) t.true(text.includes(String(a.uffdK)) && text.includes(String(a.exitK)), `table A row ${a.vcpus}`);
  t.true(text.includes('111.4x'));
  t.regex(html, /table A, 256-core EPYC \(published\)/);
  t.regex(html, new RegExp(`ours, ${doc.machine.cpus}-cpu machine`));
});

test('model and validate: the model beside table A with its error, and beside the real runs', async (t) => {
  const { html } = await report();
  const page = parse(html);
  const model = section(page, 'model-demand-paging');
  t.is(svgs(model).length, 2);
  t.is(marks(chart(model, 'paging-rate'), 'symbol'), 2 * MODEL_COUNTS.length + 2 * TABLE_A.length);
  t.is(marks(chart(model, 'model-error'), 'rect'), 2 * MODEL_COUNTS.length);
  t.true(cells(model).includes('4012'));
  const validate = section(page, 'model-validate');
  t.is(svgs(validate).length, 2);
  t.is(marks(chart(validate, 'paging-rate'), 'symbol'), 2 * 4, 'real and model for 2 paths × 2 counts');
  t.is(marks(chart(validate, 'model-error'), 'rect'), 4);
  t.regex(html, /the real runs of this document are the reference/);
});

test('memslots: both designs beside seed 004 per test, and the published figures in the table', async (t) => {
  const { doc, html } = await report();
  const sec = section(parse(html), 'bench-memslots');
  t.is(svgs(sec).length, 1);
  const rows = data(doc, 'bench-memslots').results as { test: string }[];
  const published = Object.keys(PUBLISHED[10]).length;
  t.is(marks(chart(sec, 'memslots'), 'symbol'), rows.length + 2 * published);
  const text = cells(sec);
  t.true(text.includes('3.42e-4') && text.includes('2.83e-4'), 'setup before/after at 10 slots');
  t.true(text.includes('0.0313') && text.includes('0.0310'), 'unmap before/after at 10 slots');
  t.true(text.includes('seed: before (array)'));
});

test('pci-hole: cost per scan for every strategy beside seed 000, host memory beside its 32 MiB', async (t) => {
  const { doc, html } = await report();
  const sec = section(parse(html), 'bench-pci-hole');
  t.is(svgs(sec).length, 2);
  const rows = data(doc, 'bench-pci-hole').results as unknown[];
  t.is(marks(chart(sec, 'pci-hole'), 'symbol'), rows.length);
  t.is(marks(chart(sec, 'pci-hole'), 'rule'), rows.length + 2, 'a [min, max] bar per row and the two published costs');
  t.is(marks(chart(sec, 'host-bytes'), 'rect'), 5);
  t.regex(html, /seed 000: READONLY 0xff pages, 32\.0 MiB/);
  t.true(cells(sec).includes('6.00x'), "the seed's ratio beside ours");
});

test('hit path, a VM time series and an unknown kind render; no section crashes the page', async (t) => {
  const { html } = await report();
  const page = parse(html);
  const vcpu = section(page, 'bench-vcpu');
  t.is(marks(chart(vcpu, 'vcpu'), 'rect'), 4);
  const vm = section(page, 'vm');
  t.is(marks(chart(vm, 'vm'), 'symbol'), 12 * 2, 'two metrics over 12 intervals');
  t.is(marks(chart(vm, 'vm'), 'rule'), 2, 'the host action across both panels');
  t.is(marks(chart(vm, 'vm-vcpus'), 'symbol'), 24, 'two vCPUs over 12 intervals');
  t.true(cells(vm).includes('dontneed') && cells(vm).includes('256'), 'actions and dirty-log rounds as tables');
  t.regex(html, /<caption>mmu<\/caption>/, "a block of scalars as a one-row table");
  const unknown = section(page, 'no-such-kind');
  t.is(svgs(unknown).length, 0);
  t.regex(html, /No charts for section kind 'no-such-kind'/);
  t.regex(html, /&quot;hello&quot;: &quot;world&quot;/);
});

test('every chart has a title, axis titles and a caption with the machine; the page has a header and commands', async (t) => {
  const { doc, html } = await report();
  const page = parse(html);
  const figures = byClass(page, 'chart');
  t.true(figures.length >= 12);
  for (const f of figures) {
    const name = DomUtils.getAttributeValue(f, 'data-chart');
    t.true(byClass([f], 'role-title-text').length >= 1, `${name}: a title`);
    t.true(byClass([f], 'role-axis-title').length >= 1, `${name}: axis titles`);
    const caption = DomUtils.findOne((x) => x.name === 'figcaption', [f]);
    t.regex(caption ? DomUtils.textContent(caption) : '', new RegExp(`^machine: ${doc.machine.cpus} cpus \\(.+\\), node v\\d+`), `${name}: caption`);
  }
  t.regex(html, /reproduce: <code>vcpu-rt bench demand-paging -v 1,2/);
  t.regex(html, /<dt>vcpu-rt<\/dt><dd>\d+\.\d+\.\d+<\/dd>/);
});

test('the page is self-contained: no script, no stylesheet link, no URL in any attribute', async (t) => {
  const { html } = await report();
  const page = parse(html);
  const attrs = attributes(page);
  t.deepEqual(attrs.filter((a) => /https?:|\/\//.test(a.value) && a.name !== 'd'), []);
  t.deepEqual(attrs.filter((a) => a.name === 'src' || (a.name === 'href' && !a.value.startsWith('#'))), []);
  t.false(/<script|<link|<iframe|@import|url\(/i.test(html));
  t.regex(html, /Content-Security-Policy" content="default-src 'none'/);
});

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
/** Where the screenshot is kept for people to look at. */
const SHOT = '/tmp/vcpu-rt-report.png';

/** Pixels within `tol` of the colour `hex`. */
function count(png: PNG, hex: string, tol = 24): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i] - r) <= tol && Math.abs(png.data[i + 1] - g) <= tol && Math.abs(png.data[i + 2] - b) <= tol) n++;
  }
  return n;
}

(hasChromium ? test : test.skip)(`headless Chromium draws the report's charts (skipped without ${CHROMIUM}: apt-get install chromium)`, async (t) => {
  const { html } = await report();
  const dir = mkdtempSync(join(tmpdir(), 'vcpu-rt-shot-'));
  const page = join(dir, 'report.html');
  writeFileSync(page, html);
  const r = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${join(dir, 'profile')}`,
    `--screenshot=${SHOT}`, '--window-size=1200,3000', `file://${page}`], { encoding: 'utf8', timeout: 120_000 });
  t.true(existsSync(SHOT), `no screenshot: ${r.stderr}`);
  const png = PNG.sync.read(readFileSync(SHOT));
  t.is(png.width, 1200);
  let ink = 0;
  for (let i = 0; i < png.data.length; i += 4) if (Math.min(png.data[i], png.data[i + 1], png.data[i + 2]) < 200) ink++;
  const share = ink / (png.width * png.height);
  t.true(share > 0.02, `only ${(share * 100).toFixed(1)}% of the pixels are drawn`);
  // The uffd (blue) and exit (orange) series of the first charts, drawn in their palette colours.
  t.true(count(png, '#4c78a8') > 2000, 'blue: the uffd path');
  t.true(count(png, '#f58518') > 2000, 'orange: the exit path');
  t.log(`screenshot: ${SHOT}, ${(share * 100).toFixed(1)}% drawn`);
});
