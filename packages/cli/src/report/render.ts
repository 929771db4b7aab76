/**
 * The report: a result document as one self-contained HTML page — inline SVG charts, inline CSS,
 * no script and a content policy that forbids fetching anything, so it opens the same offline,
 * attached to a mail or years later.
 */
import type { ResultDocument, ResultSection } from '../result/document.js';
import { esc } from './html.js';
import { renderSection } from './sections/index.js';
import { STYLE } from './style.js';
import { machineLine, type SectionView } from './view.js';

/** Charts wider than this take a row of their own; narrower ones go two to a row. */
const WIDE = 720;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

function sectionHtml(s: ResultSection, v: SectionView, i: number): string {
  const figures = v.figures.map((f) => `<figure class="chart${f.width > WIDE ? ' wide' : ''}" data-chart="${esc(f.chart)}" style="max-width: ${Math.ceil(f.width)}px">\n${f.svg}\n<figcaption>${f.caption}</figcaption></figure>`).join('\n');
  return [
    `<section class="result" id="section-${i + 1}" data-kind="${esc(s.kind)}">`,
    `<h2>${esc(s.title)}</h2>`,
    s.command ? `<p class="command">reproduce: <code>${esc(s.command)}</code></p>` : '',
    figures ? `<div class="figures">\n${figures}\n</div>` : '',
    v.tables.length ? `<div class="tables">\n${v.tables.join('\n')}\n</div>` : '',
    v.notes.length ? `<ul class="notes">${v.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '',
    '</section>',
  ].filter(Boolean).join('\n');
}

/** The HTML of `doc`'s report. */
export async function renderReport(doc: ResultDocument): Promise<string> {
  const views: SectionView[] = [];
  for (const s of doc.sections) views.push(await renderSection(s, doc));
  const name = doc.scenario?.name ?? doc.sections[0]?.title ?? 'vcpu-rt result';
  const meta: [string, string][] = [
    ['machine', machineLine(doc.machine)],
    ['vcpu-rt', doc.version],
    ['started', doc.startedAt],
    ['wall time', `${doc.seconds.toFixed(1)} s`],
  ];
  if (doc.scenario) meta.splice(0, 0, ['scenario', doc.scenario.file]);
  const toc = doc.sections.length > 1 ? `<nav class="toc">${doc.sections.map((s, i) => `<a href="#section-${i + 1}">${esc(s.title)}</a>`).join('')}</nav>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vcpu-rt report: ${esc(name)}</title>
<style>${STYLE}</style></head>
<body>
<header class="top">
<h1>${esc(name)}</h1>
${doc.scenario?.description ? `<p class="desc">${esc(doc.scenario.description.trim())}</p>` : ''}
<dl class="meta">${meta.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
${toc}
</header>
<main>
${doc.sections.map((s, i) => sectionHtml(s, views[i], i)).join('\n')}
</main>
${doc.scenario ? `<footer><h2>Scenario <code>${esc(doc.scenario.file)}</code></h2><pre class="yaml">${esc(doc.scenario.text)}</pre></footer>` : ''}
</body></html>
`;
}
