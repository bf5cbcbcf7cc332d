import { readdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isCalendarDay } from '../time/index.js';

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

/** A day in a text: `2026-01-31`, `2026_01_31` or `20260131`, one separator throughout. */
const DAY_TEXT = '(\\d{4})([-_]?)(\\d{2})\\2(\\d{2})';
const DAY_IN_NAME = new RegExp(`(?<!\\d)${DAY_TEXT}(?!\\d)`);
const DAY_DIRECTORY = new RegExp(`^(?:(?:dt|date|day)=)?${DAY_TEXT}$`, 'i');

/** UTC midnight of a calendar day; undefined when it is not one (2026-02-30). */
function utcDay(y: number, m: number, d: number): number | undefined {
  return m >= 1 && m <= 12 && d >= 1 && isCalendarDay(y, m, d) ? Date.UTC(y, m - 1, d) : undefined;
}

/**
 * The day a file carries, as UTC midnight in epoch ms; undefined when it carries none. Its name's
 * date first (`payments-2026-01-31.csv`, `20260131.parquet`, `payments_2026_01_31.csv`), else the
 * nearest dated directory: hive style (`dt=2026-01-31/`, `date=20260131/`), `2026/01/31/`, or a
 * directory named by the day (`2026-01-31/`). Backfills of ingest jobs pick files by it; pass
 * the path relative to the project, so directories above it carry no date.
 *
 * @example
 * fileDate('data/payments/2026-01-31.csv'); // Date.UTC(2026, 0, 31)
 * fileDate('data/payments/dt=2026-01-31/part-0.parquet'); // Date.UTC(2026, 0, 31)
 */
export function fileDate(path: string): number | undefined {
  const segments = path.split(/[\\/]/).filter((s) => s !== '');
  const named = DAY_IN_NAME.exec(segments.at(-1) ?? '');
  if (named) return utcDay(Number(named[1]), Number(named[3]), Number(named[4]));
  for (let i = segments.length - 2; i >= 0; i--) {
    const [year, month, day] = [segments[i - 2], segments[i - 1], segments[i]!];
    if (year !== undefined && /^\d{4}$/.test(year) && /^\d{2}$/.test(month!) && /^\d{2}$/.test(day)) return utcDay(Number(year), Number(month), Number(day));
    const dated = DAY_DIRECTORY.exec(day);
    if (dated) return utcDay(Number(dated[1]), Number(dated[3]), Number(dated[4]));
  }
  return undefined;
}
