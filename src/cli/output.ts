import { stringifyExact } from '../serving/exact-json.js';

/** Prints a command's result: human text by default, one JSON document with `--json`. */
export interface Output {
  readonly json: boolean;
  result(json: unknown, human: () => string): void;
  /** A progress bar on stderr for long work, drawn only on a terminal and never with `--json`. */
  progress(label: string, done: number, total: number): void;
  info(line: string): void;
}

export function createOutput(json: boolean): Output {
  const tty = process.stderr.isTTY === true && !json;
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${stringifyExact(value)}\n` : `${human()}\n`);
    },
    progress(label, done, total) {
      if (!tty) return;
      const width = 28;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r${label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      if (done >= total) process.stderr.write('\n');
    },
    info(line) {
      if (!json) process.stderr.write(`${line}\n`);
    },
  };
}

/** A plain text table with aligned columns. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((v) => (v === null || v === undefined ? '-' : typeof v === 'object' ? stringifyExact(v) : String(v))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => String(c).padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
