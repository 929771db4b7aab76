/** The people's table of `vcpu-rt bench memslots`: our figures beside seed 004's. */
import Table from 'cli-table3';
import type { MemslotImpl } from '@vcpu-rt/core';
import type { MemslotResult, MemslotTest } from './memslots.js';
import { PUBLISHED } from './published.js';
import type { MachineInfo } from './stats.js';

/** The unit column, short (the default table) and spelled out (--wide). */
const SHORT_UNITS: Record<MemslotTest, string> = {
  setup: 'all slots', map: '32 MiB', 'move-active': '2 moves', 'move-inactive': '2 moves',
  lookup: 'lookup', 'lookup-random': 'lookup', unmap: '128M/4K', 'unmap-2m': '128M/2M',
};

const UNITS: Record<MemslotTest, string> = {
  setup: 'all slots',
  map: 'iteration (32 MiB)',
  'move-active': 'iteration = 2 moves',
  'move-inactive': 'iteration = 2 moves',
  lookup: 'lookup, map order',
  'lookup-random': 'lookup, random gfn',
  unmap: 'iteration (128 MiB, 4 KiB calls)',
  'unmap-2m': 'iteration (128 MiB, 2 MiB calls)',
};

/** Three significant digits: seconds in a table whose unit column says so. */
function num(s: number): string {
  return s >= 0.001 ? s.toPrecision(3) : s.toExponential(2);
}

/**
 * Renders the results as one table per slot count: medians within 120 columns, or with `wide` the
 * spread [min, max] and the units spelled out as well.
 */
export function memslotTable(results: MemslotResult[], machine: MachineInfo, options: { wide?: boolean } = {}): string {
  const wide = options.wide === true;
  const lines = [`machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}; seconds, median of the repeats${wide ? ' [min, max]' : ' (--wide: with [min, max])'}`,
    'published: seed 004 cover letter, Xeon 8167M, before = array (pre-5.17), after = tree (5.17+)'];
  // The map test caps its slots (MAP_MAX_SLOTS): its rows join the table of the count they stand for.
  const slotCounts = [...new Set(results.filter((r) => r.test !== 'map').map((r) => r.slots))];
  for (const slots of slotCounts) {
    const t = new Table({
      head: ['test', 'seconds per', 'ours: tree', 'ours: array', 'array/tree', 'seed: before', 'seed: after', 'before/after'],
      style: { head: [], border: [] },
    });
    const pub = PUBLISHED[slots];
    const tests = [...new Set(results.filter((r) => r.slots === slots || (r.test === 'map' && r.slots === Math.min(slots, 8194))).map((r) => r.test))];
    for (const test of tests) {
      const get = (impl: MemslotImpl) => results.find((r) => (r.slots === slots || (test === 'map' && slots > r.slots && r.slots === Math.min(slots, 8194))) && r.test === test && r.impl === impl);
      const scale = test.startsWith('move') ? 2 : 1;
      const cell = (r?: MemslotResult) => (!r ? '-' : wide ? `${num(r.seconds * scale)} [${num(r.min * scale)}, ${num(r.max * scale)}]` : num(r.seconds * scale));
      const tr = get('tree');
      const ar = get('array');
      const p = pub?.[test as keyof typeof pub];
      t.push([test, (wide ? UNITS : SHORT_UNITS)[test], cell(tr), cell(ar), tr && ar ? `${(ar.seconds / tr.seconds).toFixed(1)}x` : '-',
        p ? num(p.before) : '-', p ? num(p.after) : '-', p ? `${(p.before / p.after).toFixed(1)}x` : '-']);
    }
    lines.push('', `${slots} slots${slots === 32763 ? ' (published: "32k slots")' : ''}`, t.toString());
  }
  return lines.join('\n');
}
