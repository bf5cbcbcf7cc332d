import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servingLogDir, type ServedRow } from '../serving-log/served-row.js';

const HOUR_MS = 3_600_000;
const FILE = /^(\d{4}-\d{2}-\d{2}T\d{2})\.jsonl$/;

/** The served rows of one service in a time range, and the lines that could not be read. */
export interface ServedRowsOfService {
  readonly service: string;
  readonly rows: ServedRow[];
  /** Lines skipped as unreadable (a torn last line after a crash, or not a served row). */
  readonly unreadable: number;
}

/**
 * Reads the serving log (see `served-row.ts`): the rows of `service` (every service when
 * undefined) served in `[since, until)`, file by file in time order, skipping the hour files
 * outside the range and unreadable lines (counted).
 *
 * @example
 * const [{ rows }] = await readServedRows(ctx.dataDir, { service: 'fraud_v1', since: null, until: Date.now() });
 */
export async function readServedRows(dataDir: string, range: { readonly service?: string; readonly since: number | null; readonly until: number }): Promise<ServedRowsOfService[]> {
  const root = servingLogDir(dataDir);
  if (!existsSync(root)) return [];
  const services = range.service !== undefined ? [range.service] : (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const result: ServedRowsOfService[] = [];
  for (const service of services) {
    const dir = servingLogDir(dataDir, service);
    if (!existsSync(dir)) continue;
    const files = (await readdir(dir)).filter((name) => {
      const match = FILE.exec(name);
      if (!match) return false;
      const start = Date.parse(`${match[1]}:00:00Z`);
      return start < range.until && (range.since === null || start + HOUR_MS > range.since);
    }).sort();
    const rows: ServedRow[] = [];
    let unreadable = 0;
    for (const file of files) {
      // One hour of one service's log at a time (readline's line events cost more than the parsing).
      for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
        if (line.trim() === '') continue;
        const row = parseServedRow(line);
        if (row === undefined) unreadable++;
        else if (row.servedAt < range.until && (range.since === null || row.servedAt >= range.since)) rows.push(row);
      }
    }
    result.push({ service, rows, unreadable });
  }
  return result;
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
