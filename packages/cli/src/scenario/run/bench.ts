/**
 * `bench` steps: the existing bench functions with the step's options; each section's data is the
 * document the bench command prints with `--json` (the same fields, `published` included, as
 * main.ts builds them), and its `command` is that command line.
 */
import { benchMemslots } from '../../bench/memslots.js';
import { PUBLISHED, PUBLISHED_SOURCE } from '../../bench/published.js';
import { benchPciHole, type VmmPlacement } from '../../bench/pci-hole.js';
import { PCI_HOLE_PUBLISHED, PCI_HOLE_PUBLISHED_SOURCE } from '../../bench/pci-hole-report.js';
import { benchVcpu } from '../../bench/vcpu.js';
import type { ResultSection } from '../../result/document.js';
import type { PciHoleStrategy } from '@vcpu-rt/vcpu';
import type { Step } from '../schema/index.js';
import type { StepContext } from './context.js';
import { benchPagingRun, runPaging } from './paging.js';

type BenchStep = Extract<Step, { kind: 'bench' }>;

/** Runs a bench step. */
export async function runBenchStep(ctx: StepContext, step: BenchStep): Promise<ResultSection> {
  const { machine, progress } = ctx;
  switch (step.bench) {
    case 'memslots': {
      const results = await benchMemslots({
        slots: step.slots, impls: step.impl as ('tree' | 'array')[], repeats: step.repeat, moveSeconds: step.moveSeconds,
        progress: (line, done, total) => progress.step(line, done, total),
      });
      const published = { source: PUBLISHED_SOURCE, before: 'array (pre-5.17)', after: 'tree (5.17+)', unit: 'seconds per iteration; move: per iteration of 2 moves', figures: PUBLISHED };
      return {
        kind: 'bench-memslots', title: step.title ?? 'Memslots: tree against array, beside seed 004',
        command: `vcpu-rt bench memslots --slots ${step.slots.join(',')} --impl ${step.impl.join(',')} --repeat ${step.repeat} --move-seconds ${step.moveSeconds}`,
        data: { bench: 'memslots', machine, published, results },
      };
    }
    case 'pci-hole': {
      const results = await benchPciHole({
        strategies: step.strategy as PciHoleStrategy[], vmm: step.vmm as VmmPlacement[], repeats: step.repeat, strayWrites: step.strayWrites,
        runPollNs: step.runPollNs, progress: (line, done, total) => progress.step(line, done, total),
      });
      const primary = step.vmm[0];
      return {
        kind: 'bench-pci-hole', title: step.title ?? 'PCI holes: five strategies, beside seed 000',
        command: `vcpu-rt bench pci-hole --strategy ${step.strategy.join(',')} --vmm ${step.vmm.join(',')} --repeat ${step.repeat} --stray-writes ${step.strayWrites} --run-poll-ns ${step.runPollNs}`,
        data: {
          bench: 'pci-hole', machine, vmm: primary, results: results.filter((r) => r.vmm === primary),
          otherPlacements: results.filter((r) => r.vmm !== primary), published: { source: PCI_HOLE_PUBLISHED_SOURCE, ...PCI_HOLE_PUBLISHED },
        },
      };
    }
    case 'vcpu': {
      const results = await benchVcpu(step.repeat, (line, done, total) => progress.step(line, done, total));
      return { kind: 'bench-vcpu', title: step.title ?? 'The guest-access hit path', command: `vcpu-rt bench vcpu --repeat ${step.repeat}`, data: { bench: 'vcpu', machine, results } };
    }
    case 'demand-paging':
      return runPaging(ctx, benchPagingRun(step));
  }
}
