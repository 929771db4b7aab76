/**
 * Progress of long work, always on stderr (stdout carries the table or the JSON document): a bar
 * with an ETA when stderr is a terminal, one line per step otherwise (CI logs, pipes).
 */
import { SingleBar } from 'cli-progress';

/** Reports the steps of one long piece of work. */
export interface Progress {
  /** Step `done` of `total` finished; `line` says what it was and what it measured. */
  step(line: string, done: number, total: number): void;
  /** A line that is not a step (a phase starting, a warning). */
  note(line: string): void;
  /** Ends the bar; further calls print nothing. */
  stop(): void;
}

/** Where progress goes; `quiet` prints nothing at all. */
export interface ProgressOptions {
  label: string;
  stream?: NodeJS.WriteStream;
  quiet?: boolean;
}

/** A progress reporter for one piece of work: a bar on a TTY, lines elsewhere. */
export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  if (o.quiet) return { step() {}, note() {}, stop() {} };
  if (!stream.isTTY) {
    return {
      step: (line, done, total) => stream.write(`[${done}/${total}] ${line}\n`),
      note: (line) => stream.write(`${line}\n`),
      stop() {},
    };
  }
  let bar: SingleBar | undefined;
  let stopped = false;
  return {
    step(line, done, total) {
      if (stopped) return;
      if (!bar) {
        bar = new SingleBar({
          stream, format: `${o.label} [{bar}] {value}/{total} | ETA {eta_formatted} | {line}`,
          barsize: 24, hideCursor: true, clearOnComplete: false, etaBuffer: 8,
        });
        bar.start(total, 0, { line: '' });
      }
      bar.setTotal(total);
      bar.update(done, { line: line.length > 60 ? `${line.slice(0, 57)}...` : line });
    },
    note(line) {
      if (stopped) return;
      if (bar) bar.stop();
      stream.write(`${line}\n`);
      bar = undefined;
    },
    stop() {
      if (!stopped && bar) bar.stop();
      stopped = true;
    },
  };
}
