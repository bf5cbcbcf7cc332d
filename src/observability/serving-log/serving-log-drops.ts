import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../storage/lake/atomic-file.js';
import type { ServingLogQuery } from './read-serving-log.js';
import { servingLogDir } from './served-row.js';
import { endsClean } from './log-file-append.js';

/**
 * The serving log's record of its own holes: a sampled row the writer could not keep (its buffer
 * was full, or the append failed) is counted, and the counts are appended, once per flush that
 * had drops, to `<dataDir>/serving-log/<service>/drops.ndjson` (one JSON line per record; not a
 * `.jsonl` file, so readers of served rows never see it). A reader of the log over a period (the
 * skew job, drift of served values) adds up the records that overlap it and says that its answer
 * reflects an incomplete sample. A record of rows lost to a failed append is written at the next
 * flush that succeeds; a crash loses the records not yet written, as it loses the buffered rows.
 */
export interface DropRecord {
  readonly service: string;
  /** `servedAt` (epoch ms) of the first and last request whose rows were dropped. */
  readonly from: number;
  readonly to: number;
  /** Rows dropped because the buffer held `maxBufferedRows` rows. */
  readonly bufferFull: number;
  /** Rows dropped because their append failed. */
  readonly writeFailed: number;
  /** The last failed append's error message. */
  readonly error?: string;
  /**
   * The views the lost rows' requests answered, one list per distinct list (a service's requests
   * share one; feature-list requests may differ), so retention removes the record exactly when it
   * has removed the rows it stands for (see `run-retention.ts`). Absent in records written before
   * 2026-11-30 (15): retention then goes by the service's views, as it did.
   */
  readonly views?: readonly (readonly string[])[];
}

/** The drops of the serving log over a period, added up over its services. */
export interface ServingLogDrops {
  /** Sampled rows dropped (buffer full plus failed writes). */
  readonly rows: number;
  readonly bufferFull: number;
  readonly writeFailed: number;
  /** The earliest and latest `servedAt` of the dropped rows' requests; null when none was dropped. */
  readonly from: number | null;
  readonly to: number | null;
  /** The distinct errors of failed appends, at most five. */
  readonly errors: readonly string[];
}

/**
 * Why rows were dropped, one phrase per cause (buffer full, failed writes with their errors);
 * `advice` adds what to do about each. The one wording of the causes: the health condition and
 * the readers' `incompleteText` use it.
 */
export function dropCauses(drops: { readonly bufferFull: number; readonly writeFailed: number; readonly errors: readonly string[] }, advice = false): string[] {
  return [
    ...(drops.bufferFull > 0 ? [`${drops.bufferFull} because its buffer was full${advice ? ' (give "sluice serve" a larger --serving-log-buffer, or lower the sample rate)' : ''}`] : []),
    ...(drops.writeFailed > 0 ? [`${drops.writeFailed} because a write failed (${drops.errors.join('; ') || 'no error recorded'}${advice ? "; check the data directory's disk and permissions" : ''})`] : []),
  ];
}

/**
 * The line a reader of the log over a period (skew, drift) shows when its answer is `incomplete`
 * (the drops records say sampled rows are missing in the period), ending with `effect`, what the
 * missing rows mean for that answer; undefined when nothing was dropped.
 *
 * @example
 * const line = incompleteText(await servingLogDrops(dataDir, { since }), 'they were not compared');
 */
export function incompleteText(drops: ServingLogDrops, effect: string): string | undefined {
  if (drops.rows === 0) return undefined;
  return `incomplete: the serving log dropped ${drops.rows} sampled rows between ${new Date(drops.from!).toISOString()} and ${new Date(drops.to!).toISOString()} (${dropCauses(drops).join('; ')}); ${effect}`;
}

/** No drops. */
export const NO_DROPS: ServingLogDrops = { rows: 0, bufferFull: 0, writeFailed: 0, from: null, to: null, errors: [] };

const DROPS_FILE = 'drops.ndjson';

/**
 * Appends drop records to their services' `drops.ndjson` (one append per service; a failure stops
 * at that service, the ones before it written: `DropTally` calls it one service at a time). A torn
 * last line (a crash mid-append) is ended first, as the row writer does, so it stays one line
 * that readers skip and the records after it parse.
 */
export async function appendDropRecords(dataDir: string, records: readonly DropRecord[]): Promise<void> {
  const byService = new Map<string, string>();
  for (const r of records) byService.set(r.service, (byService.get(r.service) ?? '') + `${JSON.stringify(r)}\n`);
  for (const [service, text] of byService) {
    const dir = servingLogDir(dataDir, service);
    await mkdir(dir, { recursive: true });
    const path = join(dir, DROPS_FILE);
    await appendFile(path, (await endsClean(path)) ? text : `\n${text}`);
  }
}

const isRecord = (value: unknown): value is DropRecord => {
  const r = value as Partial<DropRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.from === 'number' && typeof r.to === 'number' && typeof r.bufferFull === 'number' && typeof r.writeFailed === 'number'
    && (r.views === undefined || (Array.isArray(r.views) && r.views.every((list) => Array.isArray(list) && list.every((v) => typeof v === 'string'))));
};

/** The directories under `<dataDir>/serving-log/`: the services (and `_features`) that logged rows or drops. */
export async function servingLogServices(dataDir: string): Promise<string[]> {
  try {
    return (await readdir(servingLogDir(dataDir), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * The drops recorded for the rows served in `[since, until)` (of `query.service`, or every service):
 * every record whose requests overlap the period counts whole, so a period that cuts a record
 * reports all of its rows (at most that many of them were in the period). A torn line is skipped.
 *
 * @example
 * const drops = await servingLogDrops('.sluice', { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 * if (drops.rows > 0) console.log(`the log misses ${drops.rows} sampled rows`);
 */
export async function servingLogDrops(dataDir: string, query: ServingLogQuery = {}): Promise<ServingLogDrops> {
  const since = query.since ?? Number.NEGATIVE_INFINITY;
  const until = query.until ?? Number.POSITIVE_INFINITY;
  let bufferFull = 0;
  let writeFailed = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  const errors = new Set<string>();
  for (const service of query.service === undefined ? await servingLogServices(dataDir) : [query.service]) {
    for (const { record } of await dropLines(dataDir, service)) {
      if (record === undefined || record.to < since || record.from >= until) continue;
      bufferFull += record.bufferFull;
      writeFailed += record.writeFailed;
      from = Math.min(from, record.from);
      to = Math.max(to, record.to);
      if (typeof record.error === 'string' && errors.size < 5) errors.add(record.error);
    }
  }
  const rows = bufferFull + writeFailed;
  return rows === 0 ? NO_DROPS : { rows, bufferFull, writeFailed, from, to, errors: [...errors] };
}

/**
 * Removes the drop records of `service` that `remove` selects: retention calls it with the rule
 * by which it removed the rows of their period, so the records of holes in rows nobody can read
 * any more do not pile up. The file is written again atomically; a record appended by a server
 * while it is rewritten may be lost (as for the rows: see `purgeServingLog`). Lines that do not
 * parse are kept. Returns the records removed (or, with `dryRun`, that would be).
 *
 * @example
 * await trimDropRecords('.sluice', 'fraud_v1', (record) => record.to < cutoff, false);
 */
export async function trimDropRecords(dataDir: string, service: string, remove: (record: DropRecord) => boolean, dryRun: boolean): Promise<DropRecord[]> {
  const kept: string[] = [];
  const removed: DropRecord[] = [];
  for (const { line, record } of await dropLines(dataDir, service)) {
    if (record !== undefined && remove(record)) removed.push(record);
    else kept.push(line);
  }
  if (removed.length > 0 && !dryRun) await writeFileAtomic(join(servingLogDir(dataDir, service), DROPS_FILE), kept.length === 0 ? '' : `${kept.join('\n')}\n`);
  return removed;
}

/** The lines of `service`'s drops file (none when it has none), each with its record when it parses as one. */
async function dropLines(dataDir: string, service: string): Promise<{ line: string; record: DropRecord | undefined }[]> {
  let text: string;
  try {
    text = await readFile(join(servingLogDir(dataDir, service), DROPS_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text.split('\n').filter((line) => line !== '').map((line) => {
    try {
      const record: unknown = JSON.parse(line);
      return { line, record: isRecord(record) ? record : undefined };
    } catch {
      return { line, record: undefined };
    }
  });
}
