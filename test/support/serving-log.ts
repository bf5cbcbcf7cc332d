import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { entityKey } from '../../src/definitions/index.js';
import type { OnlineFeaturesResponse } from '../../src/serving/online-features.js';
import { servingLogDir, servingLogFile, STATUS_CODES, type ServedRow } from '../../src/observability/serving-log/served-row.js';
import { servedLogLines } from '../../src/observability/serving-log/read-serving-log.js';
import { servedColumns } from '../../src/observability/serving-log/served-lines.js';
import type { ValueStatus } from '../../src/processing/evaluate-online.js';

let requests = 0;

/**
 * The served rows of one answer, in the serving log's layout (`served-row.ts`), as its writer
 * records them: values as answered, a bigint (int64 beyond 2^53) as its decimal string.
 */
export function servedRowsOf(response: OnlineFeaturesResponse, service: string, joinKeys: readonly string[], servedAt: number): ServedRow[] {
  const requestId = `req-${++requests}`;
  const views = Object.fromEntries(Object.entries(response.views).map(([view, v]) => [view, { definitionHash: v.viewHash ?? '', snapshots: v.snapshots }]));
  return response.rows.map((row, r) => {
    const keys = Object.fromEntries(joinKeys.map((k) => [k, row[k]]));
    const values = Object.fromEntries(response.features.map((f) => [f, typeof row[f] === 'bigint' ? (row[f] as bigint).toString() : row[f]]));
    const statuses = Object.fromEntries(response.features.map((f, i) => [f, response.metadata[r]!.status[i]!]));
    return { requestId, service, entityKey: entityKey(joinKeys.map((k) => row[k] as string)), keys, asOf: response.asOf, servedAt, values, statuses, views };
  });
}

/** Appends served rows to the log files of `dataDir`, one JSON line each, by service and hour. */
export function appendServedRows(dataDir: string, rows: readonly ServedRow[]): void {
  for (const row of rows) {
    const file = servingLogFile(dataDir, row.service, row.servedAt);
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${JSON.stringify(row)}\n`);
  }
}

/** The lean lines (2026-11-29, before the compact format) of rows of one request: its request line, then a row line per row with `values` by name. */
export function leanLines(rows: readonly ServedRow[]): string {
  const [first] = rows;
  if (first === undefined) return '';
  const request = { requestId: first.requestId, service: first.service, asOf: first.asOf, servedAt: first.servedAt, views: first.views };
  const row = (r: ServedRow) => ({ requestId: r.requestId, servedAt: r.servedAt, entityKey: r.entityKey, keys: r.keys, values: r.values, status: Object.values(r.statuses).map((s) => STATUS_CODES[s as ValueStatus]).join('') });
  return [request, ...rows.map(row)].map((line) => `${JSON.stringify(line)}\n`).join('');
}

/**
 * Log formats a test may write served rows in: the whole rows of the first format, lean lines, compact lines whose
 * rows name their request (`compact-ids`, written 2026-11-29), compact lines whose rows leave out `requestId` (`compact`;
 * they keep `keys`, which the writer since 2026-11-30 also leaves out for one string join key: only the writer's own output covers that),
 * or request lines holding their rows (`rows`, written since 2026-11-30 (17); by hand, statuses and keys always given).
 */
export type ServedLogFormat = 'whole' | 'lean' | 'compact-ids' | 'compact' | 'rows';

/** Rewrites every serving log file of `dataDir` with the same rows in another format (`compact`: through the writer's line format, by hand). */
export async function rewriteServingLog(dataDir: string, format: ServedLogFormat): Promise<void> {
  for (const service of readdirSync(servingLogDir(dataDir))) {
    for (const name of readdirSync(servingLogDir(dataDir, service))) {
      const file = join(servingLogDir(dataDir, service), name);
      const read = servedLogLines();
      const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => read(l)).flatMap((l) => (l.kind === 'row' ? [l.row] : l.kind === 'request' ? l.rows.filter((r) => r !== undefined) : []));
      writeFileSync(file, servedLines(rows, format));
    }
  }
}

/** Served rows as lines of `format`, a request's rows together in order. */
export function servedLines(rows: readonly ServedRow[], format: ServedLogFormat): string {
  if (format === 'whole') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  const requests = new Map<string, ServedRow[]>();
  for (const row of rows) requests.set(row.requestId, [...(requests.get(row.requestId) ?? []), row]);
  if (format === 'lean') return [...requests.values()].map(leanLines).join('');
  if (format === 'rows') return [...requests.values()].map(requestRowsLines).join('');
  return [...requests.values()].map((request) => {
    const names = Object.keys(request[0]!.values);
    const { id } = servedColumns(names);
    const line = JSON.stringify({ columns: id, names });
    return [line, ...leanLines(request).trimEnd().split('\n').map((l, i) => {
      if (i === 0) return l;
      const lean = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify({ ...(format === 'compact-ids' ? { requestId: lean.requestId } : {}), servedAt: lean.servedAt, entityKey: lean.entityKey, keys: lean.keys, columns: id, values: Object.values(lean.values as object), status: lean.status });
    })].map((l) => `${l}\n`).join('');
  }).join('');
}

/** Appends the rows of one request to their log file in `format` (`whole` or `lean`: compact lines come from the writer). */
export function appendServedLines(dataDir: string, rows: readonly ServedRow[], format: ServedLogFormat): void {
  if (rows.length === 0) return;
  const file = servingLogFile(dataDir, rows[0]!.service, rows[0]!.servedAt);
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, servedLines(rows, format));
}

/** The rows of one request as the names line and one request line holding its rows (2026-11-30 (17)), each row with its status letters and keys. */
export function requestRowsLines(rows: readonly ServedRow[]): string {
  const [first] = rows;
  if (first === undefined) return '';
  const names = Object.keys(first.values);
  const { id, line } = servedColumns(names);
  const letters = (r: ServedRow) => names.map((n) => STATUS_CODES[r.statuses[n] as ValueStatus]).join('');
  const request = { requestId: first.requestId, service: first.service, asOf: first.asOf, servedAt: first.servedAt, views: first.views, columns: id, rows: rows.map((r) => [r.entityKey, names.map((n) => r.values[n]), letters(r), r.keys]) };
  return `${line}${JSON.stringify(request)}\n`;
}

/**
 * The writer's lines (since 2026-11-30 (17) a request line holds its rows) as the compact lines written before
 * (2026-11-30 (10)): the request line without `columns` and `rows`, then a row line per row, with no request id
 * and `keys` and `status` only where the row has them; values as the row had them. Other lines as they are.
 */
export function compactRowLines(text: string): string {
  return text.split('\n').filter((l) => l !== '').flatMap((l) => {
    const line = JSON.parse(l) as Record<string, unknown>;
    if (!Array.isArray(line.rows)) return [l];
    const { columns, rows, ...request } = line;
    return [JSON.stringify(request), ...(rows as unknown[][]).map(([entityKey, values, status, keys]) => JSON.stringify({
      servedAt: request.servedAt, entityKey, ...(keys ? { keys } : {}), columns, values, ...(status ? { status } : {}),
    }))];
  }).map((l) => `${l}\n`).join('');
}
