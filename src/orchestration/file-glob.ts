import { readdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A glob as a regular expression over `/`-separated relative paths: `*` and `?` within a segment, `**` across them. */
function globRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += /[.+^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${out}$`);
}

function walk(dir: string, deep: boolean, into: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isFile()) into.push(path);
    else if (entry.isDirectory() && deep) walk(path, deep, into);
  }
}

/**
 * The files a glob matches, relative to `baseDir` (or absolute), sorted by path so files are
 * ingested in a stable order (name them by date and they go in date order).
 *
 * @example
 * matchFiles('/project', 'data/payments/*.csv'); // ['/project/data/payments/2026-01-01.csv', ...]
 */
export function matchFiles(baseDir: string, glob: string): string[] {
  const absolute = isAbsolute(glob) ? glob : resolve(baseDir, glob);
  const parts = absolute.split(sep);
  const firstWild = parts.findIndex((p) => /[*?]/.test(p));
  if (firstWild === -1) return walkOne(absolute);
  const root = parts.slice(0, firstWild).join(sep) || sep;
  const rest = parts.slice(firstWild).join('/');
  const files: string[] = [];
  walk(root, rest.includes('/') || rest.includes('**'), files);
  const regex = globRegex(rest);
  return files.filter((f) => regex.test(relative(root, f).split(sep).join('/'))).sort();
}

function walkOne(path: string): string[] {
  const files: string[] = [];
  walk(join(path, '..'), false, files);
  return files.filter((f) => f === path);
}

/**
 * The day a file's name carries (`payments-2026-01-31.csv`, `20260131.parquet`), as UTC
 * midnight in epoch ms; undefined when it carries none. Backfills of ingest jobs pick files by it.
 *
 * @example
 * fileDate('data/payments/2026-01-31.csv'); // Date.UTC(2026, 0, 31)
 */
export function fileDate(path: string): number | undefined {
  const name = path.split(/[\\/]/).at(-1) ?? '';
  const match = /(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)/.exec(name);
  if (!match) return undefined;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const at = Date.UTC(y, m - 1, d);
  const check = new Date(at);
  return check.getUTCFullYear() === y && check.getUTCMonth() === m - 1 && check.getUTCDate() === d ? at : undefined;
}
