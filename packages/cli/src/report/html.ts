/** HTML building blocks of the report: escaping and the compact figure tables. */

/** `s` safe inside HTML text and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A column of a figure table: published columns are shaded so ours and theirs never blur. */
export interface Column {
  head: string;
  published?: boolean;
  /** Text columns are left-aligned; numbers right-aligned with tabular digits. */
  text?: boolean;
}

/** A compact table; a `null` cell prints as a dash. */
export function htmlTable(columns: readonly Column[], rows: readonly (readonly (string | number | null | undefined)[])[], caption?: string): string {
  const cls = (c: Column) => [c.published ? 'pub' : '', c.text ? 'txt' : 'num'].filter(Boolean).join(' ');
  const head = columns.map((c) => `<th class="${cls(c)}">${esc(c.head)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v, i) => `<td class="${cls(columns[i] ?? {head: ''})}">${v === null || v === undefined || v === '' ? '–' : esc(v)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="figures">${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}
