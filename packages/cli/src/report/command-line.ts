/** The command that reproduces a section: this process's arguments less those that only say where output goes. */

/** Options that change where results go, not what is measured. */
const OUTPUT_ONLY = new Set(['--json', '--wide']);

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

/** `vcpu-rt <args>` without `--out <dir>`, `--json` and `--wide`. */
export function reproduceCommand(args: readonly string[] = process.argv.slice(2)): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--out') i++;
    else if (!a.startsWith('--out=') && !OUTPUT_ONLY.has(a)) out.push(quote(a));
  }
  return ['vcpu-rt', ...out].join(' ');
}
