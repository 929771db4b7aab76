/** Reading result documents and rendering what a renderer does not expect: damaged or unknown sections never break a report. */
import test from 'ava';
import { machineInfo, renderReport, resultDocument, resultProblem, RESULT_FORMAT } from '@vcpu-rt/cli';
import { cells, parse, section, svgs } from './fixture.js';

test('resultProblem names the rule a document breaks', (t) => {
  t.regex(resultProblem([]) ?? '', /JSON object/);
  t.regex(resultProblem({ format: 'vcpu-rt/result@2' }) ?? '', /'format' must be "vcpu-rt\/result@1" \(got "vcpu-rt\/result@2"\)/);
  const ok = resultDocument([], new Date());
  t.is(resultProblem(ok), undefined);
  t.regex(resultProblem({ ...ok, sections: [{ kind: 'vm' }] }) ?? '', /'sections\[0\]' must have a string 'kind', a string 'title' and 'data'/);
  t.is(ok.format, RESULT_FORMAT);
});

test('a section whose data lacks what its kind needs is shown as JSON with the reason; bench-model is a table', async (t) => {
  const doc = resultDocument([
    { kind: 'bench-demand-paging', title: 'Damaged', data: { results: 'not a list' } },
    { kind: 'bench-memslots', title: 'Damaged rows', data: { results: [{ test: 'setup' }] } },
    { kind: 'bench-model', title: 'Model speed', data: { bench: 'model', machine: machineInfo(), results: { eventsPerSecond: { median: 2e6, min: 1e6, max: 3e6, repeats: 3 }, tableASweep: { seconds: 4.2, points: 18, events: 9e6 } } } },
    { kind: 'vm', title: 'No series', data: { rounds: [{ round: 1, dirtyPages: 7 }], total: 3 } },
  ], new Date());
  const html = await renderReport(doc);
  const page = parse(html);
  t.regex(html, /This 'bench-demand-paging' section could not be charted \('results' must be an array of objects\)/);
  t.regex(html, /each result needs 'test', 'impl', 'slots' and 'seconds'/);
  t.true(cells(section(page, 'bench-model')).includes('2.00 [1.00, 3.00]'));
  const vm = section(page, 'vm');
  t.is(svgs(vm).length, 0);
  t.true(cells(vm).includes('dirtyPages') && cells(vm).includes('7'));
});
