/** The report's stylesheet, inlined so the page needs nothing but itself. */
export const STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6474; --line: #e3e6eb; --pub: #fff6e0; --pub-head: #f3e2b3; --accent: #4c78a8; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
header.top { background: white; border-bottom: 1px solid var(--line); padding: 22px 32px 14px; }
header.top h1 { margin: 0 0 4px; font-size: 24px; font-weight: 650; }
header.top .desc { margin: 4px 0 10px; color: var(--muted); max-width: 980px; white-space: pre-line; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0 0; font-size: 13px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
nav.toc { margin-top: 10px; font-size: 13px; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 14px; }
main { padding: 8px 32px 32px; }
section.result { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 16px 22px 18px; margin: 18px 0; }
section.result h2 { margin: 0 0 6px; font-size: 19px; font-weight: 620; }
p.command { margin: 0 0 10px; font-size: 13px; color: var(--muted); }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
p.command code { background: #f1f3f6; padding: 2px 6px; border-radius: 4px; color: var(--ink); }
div.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 18px 22px; align-items: start; }
figure.chart { margin: 0; min-width: 0; }
figure.chart.wide { grid-column: 1 / -1; }
figure.chart svg { display: block; width: 100%; height: auto; }
figure.chart figcaption { font-size: 12px; color: var(--muted); margin: 2px 8px 0; }
figure.chart figcaption code { word-break: break-word; }
div.tables { margin-top: 12px; overflow-x: auto; }
table.figures { border-collapse: collapse; font-size: 13px; margin: 10px 0; }
table.figures caption { text-align: left; font-weight: 600; padding: 2px 0 4px; }
table.figures th, table.figures td { border-bottom: 1px solid var(--line); padding: 3px 10px; }
table.figures th { background: #f1f3f6; font-weight: 600; text-align: center; vertical-align: bottom; }
table.figures td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.figures td.txt { text-align: left; }
table.figures th.pub { background: var(--pub-head); }
table.figures td.pub { background: var(--pub); }
table.figures tbody tr:hover td { background: #eef3fa; }
ul.notes { margin: 8px 0 0; padding-left: 18px; font-size: 13px; color: var(--muted); }
pre.json, pre.yaml { background: #f7f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; max-height: 480px; }
footer { padding: 0 32px 32px; }
footer h2 { font-size: 17px; }
`;
