/**
 * Charts are drawn in Node: a vega-lite spec compiled to vega and rendered headless to SVG, so a
 * report needs no browser script, no canvas and no network.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { CONFIG, type VlSpec } from './charts/theme.js';

/** The SVG text of a vega-lite spec, ready to inline in HTML. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const full = { ...spec, config: { ...CONFIG, ...(spec.config as object | undefined) } } as unknown as TopLevelSpec;
  // Warnings would land in the user's terminal in the middle of a table; a bad spec still throws.
  const quiet = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(compile(full, { logger: quiet }).spec), { renderer: 'none', logger: quiet });
  try {
    const svg = await view.toSVG();
    // Inline SVG in HTML needs no namespace declarations; dropping them leaves no URL in the page.
    return svg.replace(/ xmlns(:xlink)?="[^"]*"/g, '').replace('<svg ', '<svg role="img" ');
  } finally {
    view.finalize();
  }
}
