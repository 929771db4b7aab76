/** Text helpers of the reports. */

/** `text` cut at spaces into lines of at most `width` characters, continuation lines indented. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = `    ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line.trim()) out.push(line);
  return out;
}

