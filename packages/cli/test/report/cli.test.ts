/**
 * `--out` on the bench and model commands, the published figures in their JSON, and `vcpu-rt
 * report` rendering a saved result again (and refusing what is not one).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readResult, RESULT_FORMAT } from '@vcpu-rt/cli';
import { DomUtils, marks, parse, svgs } from './fixture.js';

const main = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });
const tmp = () => mkdtempSync(join(tmpdir(), 'vcpu-rt-out-'));

/** The SVG markup of every chart in a report file. */
function charts(file: string): string[] {
  return svgs(parse(readFileSync(file, 'utf8'))).map((s) => DomUtils.getOuterHTML(s));
}

test('bench demand-paging --json --out: stdout is the JSON document, the directory gets the result and its report', async (t) => {
  const dir = join(tmp(), 'nested', 'out');
  const r = cli('bench', 'demand-paging', '-v', '1', '-b', '256K', '--repeat', '1', '--warmup-pages', '0', '--json', '--out', dir);
  t.is(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { published: { source: string; rows: unknown[] }; results: { latency: { dist: number[] }; blocktime: { perVcpuUs: number[] } }[] };
  t.is(json.published.rows.length, 9);
  t.true(json.results.every((x) => x.latency.dist.length > 0 && x.blocktime.perVcpuUs.length === 1), 'rows carry latency and blocktime');
  t.regex(r.stderr, /^\[1\/2\] uffd path, 1 vCPU, repeat 1\/1: /m, 'one progress line per run');
  t.regex(r.stderr, new RegExp(`report: ${join(dir, 'report.html').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const doc = await readResult(join(dir, 'result.json'));
  t.is(doc.format, RESULT_FORMAT);
  t.is(doc.sections.length, 1);
  t.is(doc.sections[0].kind, 'bench-demand-paging');
  t.is(doc.sections[0].command, 'vcpu-rt bench demand-paging -v 1 -b 256K --repeat 1 --warmup-pages 0');
  t.deepEqual(doc.sections[0].data, json, 'the section is the --json document');
  const page = parse(readFileSync(join(dir, 'report.html'), 'utf8'));
  t.is(svgs(page).length, 4);
});

test('bench memslots and pci-hole: --json carries the published figures, --out writes the report', (t) => {
  const dir = tmp();
  const m = cli('bench', 'memslots', '--slots', '10', '--impl', 'tree', '--repeat', '1', '--move-seconds', '0.05', '--json', '--out', join(dir, 'm'));
  t.is(m.status, 0, m.stderr);
  const mj = JSON.parse(m.stdout) as { published: { source: string; figures: Record<string, Record<string, { before: number; after: number }>> } };
  t.regex(mj.published.source, /Scalable memslots/);
  t.deepEqual(mj.published.figures['32763'].setup, { before: 16.1, after: 0.59 });
  t.regex(m.stderr, /^\[\d+\/\d+\] tree 10 slots: setup 1\/1 took/m);
  t.true(existsSync(join(dir, 'm', 'report.html')));
  const p = cli('bench', 'pci-hole', '--strategy', 'mmio-exit,pci-hole', '--vmm', 'vcpu-thread', '--repeat', '1', '--out', join(dir, 'p'));
  t.is(p.status, 0, p.stderr);
  t.regex(p.stdout, /report: .*report\.html/, 'the table run says where the report is');
  const pj = JSON.parse(readFileSync(join(dir, 'p', 'result.json'), 'utf8')) as { sections: { data: { published: { holeAccesses: number; userspaceSecondsPerAccess: number; source: string } } }[] };
  t.is(pj.sections[0].data.published.holeAccesses, 8193);
  t.is(pj.sections[0].data.published.userspaceSecondsPerAccess, 0.000006);
  t.regex(pj.sections[0].data.published.source, /KVM_MEM_PCI_HOLE/);
});

test('model demand-paging and model validate: --out writes their sections; validate says the real runs are its reference', (t) => {
  const dir = tmp();
  const m = cli('model', 'demand-paging', '-v', '1,2', '--sim-pages', '32', '--out', dir);
  t.is(m.status, 0, m.stderr);
  t.is(m.stderr.split('\n').filter((l) => l.startsWith('[')).length, 4);
  const doc = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { sections: { kind: string }[] };
  t.is(doc.sections[0].kind, 'model-demand-paging');
  const page = parse(readFileSync(join(dir, 'report.html'), 'utf8'));
  const fig = DomUtils.findOne((x) => x.name === 'figure' && x.attribs['data-chart'] === 'paging-rate', page.children)!;
  t.is(marks(fig, 'symbol'), 4 + 18);
  const v = cli('model', 'validate', '-v', '1', '-b', '256K', '--repeat', '1', '--warmup-pages', '0', '--costs', 'published', '--json');
  t.is(v.status, 0, v.stderr);
  const vj = JSON.parse(v.stdout) as { published: { source: string; reference: string; note: string }; rows: unknown[] };
  t.is(vj.published.reference, 'real');
  t.regex(vj.published.note, /real runs/);
  t.is(vj.rows.length, 2);
});

test('vcpu-rt report renders a saved result again, with identical charts, beside it or into --out', (t) => {
  const dir = tmp();
  const b = cli('bench', 'pci-hole', '--strategy', 'mmio-exit,readonly-ff,pci-hole', '--vmm', 'vcpu-thread', '--repeat', '1', '--json', '--out', dir);
  t.is(b.status, 0, b.stderr);
  const first = charts(join(dir, 'report.html'));
  t.is(first.length, 2);
  const again = cli('report', join(dir, 'result.json'), '--out', join(dir, 'again'));
  t.is(again.status, 0, again.stderr);
  t.is(again.stdout.trim(), join(dir, 'again', 'report.html'));
  t.deepEqual(charts(join(dir, 'again', 'report.html')), first);
  rmSync(join(dir, 'report.html'));
  const beside = cli('report', join(dir, 'result.json'));
  t.is(beside.status, 0, beside.stderr);
  t.is(beside.stdout.trim(), join(dir, 'report.html'));
  t.deepEqual(charts(join(dir, 'report.html')), first);
});

test('vcpu-rt report refuses a file that is not a result document: the file, the rule, exit code 2, no stack', (t) => {
  const dir = tmp();
  const bench = join(dir, 'bench.json');
  writeFileSync(bench, JSON.stringify({ bench: 'vcpu', machine: { cpus: 2 }, results: [] }));
  const notJson = join(dir, 'broken.json');
  writeFileSync(notJson, '{ "format": ');
  const noSections = join(dir, 'nosections.json');
  writeFileSync(noSections, JSON.stringify({ format: RESULT_FORMAT, version: '0', startedAt: '', seconds: 0, machine: { cpus: 1, node: 'v20', cpuModel: 'x' } }));
  for (const [file, msg] of [
    [bench, /bench\.json is not a vcpu-rt result document: 'format' must be "vcpu-rt\/result@1" \(got none\)/],
    [notJson, /broken\.json is not JSON/],
    [noSections, /nosections\.json is not a vcpu-rt result document: 'sections' must be an array/],
    [join(dir, 'missing.json'), /missing\.json does not exist/],
  ] as const) {
    const r = cli('report', file);
    t.is(r.status, 2, file);
    t.regex(r.stderr, msg);
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
    t.is(r.stdout, '');
  }
});
