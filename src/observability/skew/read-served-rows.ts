import { createReadStream, existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { servingLogDir, type ServedRow } from '../serving-log/served-row.js';

const HOUR_MS = 3_600_000;
const FILE = /^(\d{4}-\d{2}-\d{2}T\d{2})\.jsonl$/;
/** Rows per batch by default: a few hundred MB of parsed rows at most for wide services. */
export const SERVED_ROWS_PER_BATCH = 100_000;

/** Served rows of one service, in log order, and the lines among them that could not be read. */
export interface ServedRowBatch {
  readonly service: string;
  readonly rows: ServedRow[];
  /** Lines skipped as unreadable (a torn last line after a crash, or not a served row). */
  readonly unreadable: number;
}

export interface ServedRowRange {
  /** One service's log; default every service's. */
  readonly service?: string;
  /** `[since, until)` of `servedAt`, epoch ms; since null: from the start of the log. */
  readonly since: number | null;
  readonly until: number;
}

/**
 * Reads the serving log (see `served-row.ts`) in bounded batches: the rows of `range.service`
 * (every service when undefined) served in `[since, until)`, service by service and file by file
 * in time order, about `batchRows` rows a batch (a 1 MiB chunk of lines more at most; a batch never mixes services). The hour files
 * outside the range are not opened; files are streamed, so memory stays bounded whatever their size.
 *
 * @example
 * for await (const { service, rows } of servedRowBatches(ctx.dataDir, { since: null, until: Date.now() })) console.log(service, rows.length);
 */
export async function* servedRowBatches(dataDir: string, range: ServedRowRange, batchRows = SERVED_ROWS_PER_BATCH): AsyncGenerator<ServedRowBatch> {
  const root = servingLogDir(dataDir);
  if (!existsSync(root)) return;
  const services = range.service !== undefined ? [range.service] : (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const service of services) {
    const dir = servingLogDir(dataDir, service);
    if (!existsSync(dir)) continue;
    const files = (await readdir(dir)).filter((name) => {
      const match = FILE.exec(name);
      if (!match) return false;
      const start = Date.parse(`${match[1]}:00:00Z`);
      return start < range.until && (range.since === null || start + HOUR_MS > range.since);
    }).sort();
    let rows: ServedRow[] = [];
    let unreadable = 0;
    for (const file of files) {
      for await (const chunk of lineChunks(join(dir, file))) {
        for (const line of chunk) {
          if (line.trim() === '') continue;
          const row = parseServedRow(line);
          if (row === undefined) unreadable++;
          else if (row.servedAt < range.until && (range.since === null || row.servedAt >= range.since)) rows.push(row);
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

function parseServedRow(line: string): ServedRow | undefined {
  try {
    const row = JSON.parse(line) as ServedRow;
    const valid = typeof row === 'object' && row !== null && typeof row.entityKey === 'string' && typeof row.asOf === 'string' && typeof row.servedAt === 'number' &&
      typeof row.values === 'object' && typeof row.statuses === 'object' && typeof row.views === 'object';
    return valid && !Number.isNaN(Date.parse(row.asOf)) ? row : undefined;
  } catch {
    return undefined;
  }
}
