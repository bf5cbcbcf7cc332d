import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { entityKey } from '../../src/definitions/index.js';
import type { OnlineFeaturesResponse } from '../../src/serving/online-features.js';
import { servingLogFile, type ServedRow } from '../../src/observability/serving-log/served-row.js';

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
