import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { servingLogDir, type ServedRow } from './served-row.js';
import { servedLogLines } from './served-log-lines.js';

export { servedLogLines, type ServedLogLine } from './served-log-lines.js';
export { servedAtSql, servedEntityKeySql, servedRowsSql, servedStatusSql, servedValueSql } from './served-rows-sql.js';

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
 * The glob of the serving log's files (a request line holds its rows since 2026-11-30 (17): read
 * the rows in DuckDB through `servedRowsSql`, which reads every line format).
 *
 * @example
 * servingLogGlob('.sluice', 'fraud_v1'); // '.sluice/serving-log/fraud_v1/*.jsonl'
 */
export function servingLogGlob(dataDir: string, service?: string): string {
  return join(servingLogDir(dataDir, service ?? '*'), '*.jsonl');
}

/** Served rows read at a time by default: a few hundred MB of parsed rows at most for wide services. */
export const SERVED_ROWS_PER_BATCH = 100_000;

/** Served rows of one service, in log order, and the lines among them that could not be read. */
export interface ServedRowBatch {
  readonly service: string;
  readonly rows: ServedRow[];
  /** Lines skipped as unreadable (a torn last line after a crash, or not a served row). */
  readonly unreadable: number;
}

async function entries(dir: string, directories = false): Promise<string[]> {
  try {
    const found = await readdir(dir, { withFileTypes: true });
    return found.filter((e) => !directories || e.isDirectory()).map((e) => e.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * The log files that may hold rows served in `[since, until)`: those of the hours the range
 * touches, by service then hour. Every reader of the log goes through it (the batched reader
 * below, drift's set-based DuckDB scan).
 *
 * @example
 * const files = await servingLogFiles('.sluice', { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 */
export async function servingLogFiles(dataDir: string, query: ServingLogQuery = {}): Promise<string[]> {
  return (await servingLogFilesByService(dataDir, query)).flatMap(([, files]) => files);
}

async function servingLogFilesByService(dataDir: string, query: ServingLogQuery): Promise<[string, string[]][]> {
  const since = query.since ?? Number.NEGATIVE_INFINITY;
  const until = query.until ?? Number.POSITIVE_INFINITY;
  const services = query.service === undefined ? await entries(servingLogDir(dataDir), true) : [query.service];
  const byService: [string, string[]][] = [];
  for (const service of services) {
    const dir = servingLogDir(dataDir, service);
    const files: string[] = [];
    for (const name of await entries(dir)) {
      if (!name.endsWith('.jsonl')) continue;
      const hour = Date.parse(`${name.slice(0, -'.jsonl'.length)}:00:00.000Z`);
      if (!Number.isNaN(hour) && hour + HOUR_MS > since && hour < until) files.push(join(dir, name));
    }
    byService.push([service, files]);
  }
  return byService;
}

/** A file's lines, a 1 MiB chunk of whole lines at a time (a line-by-line reader costs more than the parsing). */
async function* lineChunks(path: string): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop()!;
    yield parts;
  }
  if (rest !== '') yield [rest];
}

/**
 * Reads the serving log in bounded batches: the rows served in `[since, until)` (of
 * `query.service`, or every service), service by service and file by file in time order, about
 * `batchRows` rows a batch (a 1 MiB chunk of lines more at most; a batch never mixes services).
 * Only the files of the hours the range touches are opened, and they are streamed, so memory
 * stays bounded whatever their size. A line that is not a whole record (a torn last line after a
 * crash) is skipped and counted.
 *
 * @example
 * for await (const { service, rows } of servedRowBatches(ctx.dataDir, { until: Date.now() })) console.log(service, rows.length);
 */
export async function* servedRowBatches(dataDir: string, query: ServingLogQuery = {}, batchRows = SERVED_ROWS_PER_BATCH): AsyncGenerator<ServedRowBatch> {
  const since = query.since ?? Number.NEGATIVE_INFINITY;
  const until = query.until ?? Number.POSITIVE_INFINITY;
  for (const [service, files] of await servingLogFilesByService(dataDir, query)) {
    let rows: ServedRow[] = [];
    let unreadable = 0;
    for (const file of files) {
      const read = servedLogLines();
      for await (const chunk of lineChunks(file)) {
        for (const text of chunk) {
          if (text.trim() === '') continue;
          const line = read(text);
          if (line.kind === 'unreadable') unreadable++;
          else if (line.kind === 'row') {
            if (line.row.servedAt >= since && line.row.servedAt < until) rows.push(line.row);
          } else if (line.kind === 'request') {
            for (const row of line.rows) {
              if (row === undefined) unreadable++;
              else if (row.servedAt >= since && row.servedAt < until) rows.push(row);
            }
          }
        }
        if (rows.length >= batchRows) {
          yield { service, rows, unreadable };
          rows = [];
          unreadable = 0;
        }
      }
    }
    if (rows.length > 0 || unreadable > 0) yield { service, rows, unreadable };
  }
}

/**
 * The served rows of the log (see `served-row.ts`), in file order (by service, then hour, then
 * append order), served in `[since, until)`: every batch of `servedRowBatches` at once.
 *
 * @example
 * const rows = await readServingLog(platform.dataDir, { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 */
export async function readServingLog(dataDir: string, query: ServingLogQuery = {}): Promise<ServedRow[]> {
  const rows: ServedRow[] = [];
  for await (const batch of servedRowBatches(dataDir, query)) for (const row of batch.rows) rows.push(row);
  return rows;
}
