/** What a section renderer hands the page: its figures (inline SVG with captions), tables and notes. */
import type { MachineInfo } from '../bench/stats.js';
import { esc } from './html.js';
import { renderSvg } from './svg.js';
import type { VlSpec } from './charts/theme.js';

/** One chart of a section. */
export interface Figure {
  /** The chart family (`paging-rate`, `latency`, ...): tests and readers find a chart by it. */
  chart: string;
  svg: string;
  /** The SVG's width in px: the caption wraps to it. */
  width: number;
  /** HTML: the machine and the command that made the figures. */
  caption: string;
}

/** A rendered section, before the page puts a heading and the command around it. */
export interface SectionView {
  figures: Figure[];
  /** HTML tables. */
  tables: string[];
  /** Sentences worth saying beside the charts (what is published, what is not). */
  notes: string[];
}

/** What every section renderer knows besides its data. */
export interface SectionContext {
  machine: MachineInfo;
  command?: string;
}

/** `machine: 2 cpus (model), node v20`: the line every figure carries. */
export function machineLine(m: MachineInfo): string {
  return `${m.cpus} cpus (${m.cpuModel}), node ${m.node}`;
}

/** A chart of the section: the spec rendered to SVG, captioned with the machine and the command. */
export async function figure(chart: string, spec: VlSpec, ctx: SectionContext): Promise<Figure> {
  const made = ctx.command ? ` · made by <code>${esc(ctx.command)}</code>` : '';
  const svg = await renderSvg(spec);
  const width = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)?.[1] ?? 600);
  return { chart, svg, width, caption: `machine: ${esc(machineLine(ctx.machine))}${made}` };
}
