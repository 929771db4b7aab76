/** `bench model` in a report: how fast the discrete-event model runs; a table, since two numbers need no chart. */
import { htmlTable } from '../html.js';
import type { SectionContext, SectionView } from '../view.js';
import { isObject, num, ShapeError } from './shape.js';

/** The section. */
export async function benchModelSection(data: unknown, _ctx: SectionContext): Promise<SectionView> {
  const r = isObject(data) && isObject(data.results) ? data.results : undefined;
  const e = r && isObject(r.eventsPerSecond) ? r.eventsPerSecond : undefined;
  const s = r && isObject(r.tableASweep) ? r.tableASweep : undefined;
  if (!e || !s) throw new ShapeError("'results' needs 'eventsPerSecond' and 'tableASweep'");
  const m = (x: unknown) => ((num(x) ?? NaN) / 1e6).toFixed(2);
  const table = htmlTable([{ head: 'measure', text: true }, { head: 'value' }], [
    ['one simulation thread (64 vCPUs, uffd path): M events/s [min, max]', `${m(e.median)} [${m(e.min)}, ${m(e.max)}]`],
    [`table A's sweep on the pool (${num(s.points) ?? '?'} points, ${m(s.events)} M events): seconds`, (num(s.seconds) ?? NaN).toFixed(1)],
  ]);
  return { figures: [], tables: [table], notes: ['No published figure: this measures the model itself.'] };
}
