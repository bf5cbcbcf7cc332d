import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servingLogDir, type ServedRow } from './served-row.js';

export interface ServingLogQuery {
  /** One service's rows (`_features` for feature-list requests); default every service. */
  readonly service?: string;
  /** Rows served at or after this time (epoch ms). */
  readonly since?: number;
  /** Rows served before this time (epoch ms). */
  readonly until?: number;
}

const HOUR_MS = 3_600_000;

/**
 * The glob of the serving log's files, for DuckDB:
 * `SELECT * FROM read_json('<glob>', format = 'newline_delimited', ignore_errors = true) WHERE entityKey IS NOT NULL`
 * (`ignore_errors` reads a torn line as a row of nulls, which the filter drops).
 *
 * @example
 * servingLogGlob('.sluice', 'fraud_v1'); // '.sluice/serving-log/fraud_v1/*.jsonl'
 */
export function servingLogGlob(dataDir: string, service?: string): string {
  return join(servingLogDir(dataDir, service ?? '*'), '*.jsonl');
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function isServedRow(value: unknown): value is ServedRow {
  const row = value as ServedRow;
  return row !== null && typeof row === 'object' && typeof row.entityKey === 'string' && typeof row.servedAt === 'number' && typeof row.values === 'object';
}

/**
 * The log files that may hold rows served in `[since, until)`: those of the hours the range
 * touches, by service then hour.
 *
 * @example
 * const files = await servingLogFiles('.sluice', { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 */
export async function servingLogFiles(dataDir: string, query: ServingLogQuery = {}): Promise<string[]> {
  const since = query.since ?? Number.NEGATIVE_INFINITY;
  const until = query.until ?? Number.POSITIVE_INFINITY;
  const services = query.service === undefined ? await entries(servingLogDir(dataDir)) : [query.service];
  const files: string[] = [];
  for (const service of services) {
    const dir = servingLogDir(dataDir, service);
    for (const name of await entries(dir)) {
      if (!name.endsWith('.jsonl')) continue;
      const hour = Date.parse(`${name.slice(0, -'.jsonl'.length)}:00:00.000Z`);
      if (!Number.isNaN(hour) && hour + HOUR_MS > since && hour < until) files.push(join(dir, name));
    }
  }
  return files;
}

/**
 * The served rows of the log (see `served-row.ts`), in file order (by service, then hour, then
 * append order), served in `[since, until)`. Only the files of the hours the range touches are
 * read. A line that is not a whole record (a torn last line after a crash) is skipped.
 *
 * @example
 * const rows = await readServingLog(platform.dataDir, { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 */
export async function readServingLog(dataDir: string, query: ServingLogQuery = {}): Promise<ServedRow[]> {
  const since = query.since ?? Number.NEGATIVE_INFINITY;
  const until = query.until ?? Number.POSITIVE_INFINITY;
  const rows: ServedRow[] = [];
  for (const file of await servingLogFiles(dataDir, query)) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line.length === 0) continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        continue;
      }
      if (isServedRow(row) && row.servedAt >= since && row.servedAt < until) rows.push(row);
    }
  }
  return rows;
}
