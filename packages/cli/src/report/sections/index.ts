/**
 * Section kinds and their renderers. An unknown kind, or data a renderer cannot read, becomes the
 * section's JSON under its heading: a report of a newer or damaged result still opens.
 */
import type { MachineInfo } from '../../bench/stats.js';
import type { ResultDocument, ResultSection } from '../../result/document.js';
import { esc } from '../html.js';
import type { SectionContext, SectionView } from '../view.js';
import { benchModelSection } from './bench-model.js';
import { demandPagingSection } from './demand-paging.js';
import { memslotsSection } from './memslots.js';
import { modelDemandPagingSection } from './model-demand-paging.js';
import { modelValidateSection } from './model-validate.js';
import { pciHoleSection } from './pci-hole.js';
import { isObject } from './shape.js';
import { vcpuSection } from './vcpu.js';
import { vmSection } from './vm.js';

type Renderer = (data: unknown, ctx: SectionContext) => Promise<SectionView>;

/** The renderer of each known kind. */
export const RENDERERS: Record<string, Renderer> = {
  'bench-demand-paging': demandPagingSection,
  'model-demand-paging': modelDemandPagingSection,
  'model-validate': modelValidateSection,
  'bench-memslots': memslotsSection,
  'bench-pci-hole': pciHoleSection,
  'bench-vcpu': vcpuSection,
  'bench-model': benchModelSection,
  vm: vmSection,
};

function jsonView(data: unknown, note: string): SectionView {
  return { figures: [], tables: [`<pre class="json">${esc(JSON.stringify(data, null, 2))}</pre>`], notes: [note] };
}

/** The section's own machine (a scenario may gather sections run elsewhere), else the document's. */
function machineOf(data: unknown, doc: ResultDocument): MachineInfo {
  const m = isObject(data) ? data.machine : undefined;
  if (!isObject(m) || typeof m.cpus !== 'number' || typeof m.node !== 'string') return doc.machine;
  return { cpus: m.cpus, node: m.node, cpuModel: typeof m.cpuModel === 'string' ? m.cpuModel : 'unknown' };
}

/** A section's view; never throws. */
export async function renderSection(section: ResultSection, doc: ResultDocument): Promise<SectionView> {
  const data = section.data;
  const machine = machineOf(data, doc);
  const render = RENDERERS[section.kind];
  if (!render) return jsonView(data, `No charts for section kind '${section.kind}': its data as recorded.`);
  try {
    return await render(data, { machine, command: section.command });
  } catch (e) {
    return jsonView(data, `This '${section.kind}' section could not be charted (${(e as Error).message}): its data as recorded.`);
  }
}
