/**
 * The look every chart shares: one palette, so a colour means the same thing in every chart of a
 * report (blue is always the uffd path, green always the tree design), and one config.
 */

/** Colours by meaning; the screenshot test looks for some of them. */
export const PALETTE = {
  uffd: '#4c78a8',
  exit: '#f58518',
  tree: '#54a24b',
  array: '#e45756',
  vcpuThread: '#4c78a8',
  mainThread: '#72b7b2',
  mainThreadNopoll: '#b279a2',
  read: '#4c78a8',
  write: '#f58518',
  ours: '#333333',
  published: '#888888',
  reference: '#9d755d',
} as const;

/** Dash patterns: our figures solid, published (or modelled) ones dashed. */
export const DASH = { solid: [1, 0], dashed: [6, 4] } as const;

/** A legend whose symbols are line segments, so a dashed series shows its dashes. */
export const STROKE_LEGEND = { symbolType: 'stroke', symbolStrokeColor: '#555', symbolStrokeWidth: 2, symbolSize: 400 } as const;

/** A vega-lite spec; kept loose because specs are data and vega-lite checks them when it compiles. */
export type VlSpec = Record<string, unknown>;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", Arial, sans-serif';

/** The config every chart is compiled with. */
export const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  title: { fontSize: 14, fontWeight: 600, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#ececec', domainColor: '#888', tickColor: '#888', labelColor: '#333', titleColor: '#222' },
  legend: { orient: 'bottom', direction: 'vertical', layout: { bottom: { anchor: 'start', direction: 'vertical', margin: 6 } }, labelFontSize: 11, titleFontSize: 11, labelLimit: 360, symbolStrokeWidth: 2, symbolSize: 80 },
  header: { labelFontSize: 12, labelFontWeight: 600, titleFontSize: 0 },
  view: { stroke: '#ddd' },
  line: { strokeWidth: 2 },
  point: { size: 60 },
} as const;

/**
 * Subtitle lines cut at spaces to at most `width` characters: vega measures text by estimate when
 * it renders in Node, and one long line would widen the whole SVG with blank space.
 */
export function wrapLines(lines: readonly string[], width = 56): string[] {
  const out: string[] = [];
  for (const l of lines) {
    let line = '';
    for (const word of l.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(line);
  }
  return out;
}

/** A title with a subtitle wrapped to the chart's width. */
export function title(text: string, subtitle?: string | readonly string[], width?: number): VlSpec {
  if (subtitle === undefined) return { text };
  return { text, subtitle: wrapLines(typeof subtitle === 'string' ? [subtitle] : subtitle, width) };
}
