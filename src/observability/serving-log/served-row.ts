import { join } from 'node:path';
import type { ValueStatus } from '../../processing/evaluate-online.js';

/**
 * The serving log's record and layout: the contract between the writer (the online serving path,
 * sampled by entity key) and its readers (the skew job, drift of served values against a training
 * dataset, purges of erasure and retention). Readers must rely only on what is stated here, and
 * read through `read-serving-log.ts` (`servedLogLines`), which turns every line format below into
 * `ServedRow`s.
 *
 * Layout: JSON Lines files (UTF-8) under `<dataDir>/serving-log/<service>/<yyyy-mm-ddThh>.jsonl`,
 * one file per service and UTC hour of `servedAt`. A request without a service logs under
 * `_features`. Files are append-only; a line is written whole or not at all (a torn last line
 * after a crash is skipped by readers). DuckDB reads them set-based through `servedRowsSql`
 * (`read-serving-log.ts`), which reads every format below.
 *
 * Lines (written since 2026-11-30 (17)):
 * - a names line, in each append before the first request line that refers to it:
 *   `{"columns":"<id>","names":["<view>__<feature>",...]}` (no `entityKey`, no `requestId`); the
 *   id is the first 16 hex digits of the SHA-256 of the names' JSON, so the same list of names
 *   has the same id in every process and file, and two lists in one log never share one;
 * - a request line per request that had sampled rows, holding them:
 *   `{"requestId","service","joinKeys","asOf","servedAt","views","columns","rows"}`, `rows` a list
 *   of `[entityKey, values]`, `[entityKey, values, status]` or `[entityKey, values, status|null, keys]`:
 *   `values` the row's features by position in the names of the names line `columns` (join keys
 *   left out), each exactly the text the HTTP answer wrote for it; `status` one letter per value,
 *   in the same order (`STATUS_CODES`), left out (or `null` before `keys`) when every letter is the
 *   one its value implies: `N` (NULL) for `null`, `P` (PRESENT) for any other value; `keys` (the
 *   join keys by name) left out when `joinKeys` is one key and its value is the entity key's text.
 *   Every row has the line's `requestId`, `service`, `asOf`, `servedAt` and `views`.
 * Written before (a file may hold every format, and readers read them all):
 * - 2026-11-29 to 2026-11-30 (17), the compact format: the same names line; a request line without
 *   `columns` and `rows` (`joinKeys` since 2026-11-30 (10)); then a row line per sampled row,
 *   `{"servedAt","entityKey"[,"keys"],"columns","values"[,"status"]}` (`values` and `status` as
 *   above, `keys` left out as above since 2026-11-30 (10)); its request parts come from its request
 *   line: since 2026-11-30 (10) the last request line before it, with nothing but that request's
 *   other rows between them and the same `servedAt` (checked); before then the row line names its
 *   request (`"requestId"` first) and is read by that id;
 * - 2026-11-29, the lean row line (`values` an object by name, no `columns`) after its request line;
 * - before it, one self-contained `ServedRow` per line (`statuses` an object by feature).
 * A build from before 2026-11-30 (17) does not read a request line's rows (it reads it as a request
 * line whose rows never come: its skew job, drift and retention see no rows in it, and its erasure
 * does not remove a subject's row from it), nor a build from before 2026-11-29 (8) a row line
 * without `status`, nor one from before 2026-11-30 (10) a row line without `requestId` or `keys`:
 * do not roll back to one over a log written since.
 *
 * Sampling is by entity key: a key is sampled when `hash(entityKey) mod 10_000 < rate * 10_000`,
 * so every request for a sampled key is kept and the sample is the same in every process. The
 * hash is 32-bit FNV-1a over the key's UTF-16 code units (`keyHash` in `sample-key.ts`). Values
 * are written as `JSON.stringify` writes them, except a bigint (an int64 beyond 2^53), which is
 * written as its decimal string.
 */
export interface ServedRow {
  /** Unique per request; every row of one request carries the same id. */
  readonly requestId: string;
  /** Service name, or `_features` for a request that named features directly. */
  readonly service: string;
  /** The canonical entity key (`entityKey()` of the join key values). */
  readonly entityKey: string;
  /** The join key values as requested, by join key column. */
  readonly keys: Readonly<Record<string, unknown>>;
  /** ISO-8601 UTC with ms: the time the values were evaluated at (the answer's `asOf`). */
  readonly asOf: string;
  /** Epoch ms when it was served. */
  readonly servedAt: number;
  /** `<view>__<feature>` to the value served, as in the HTTP answer (int64 as a decimal string). */
  readonly values: Readonly<Record<string, unknown>>;
  /** `<view>__<feature>` to its status (PRESENT, NOT_FOUND, STALE, ...). */
  readonly statuses: Readonly<Record<string, string>>;
  /** View name to the definition hash and lake snapshot ids its values reflected. */
  readonly views: Readonly<Record<string, { readonly definitionHash: string; readonly snapshots: Readonly<Record<string, string | null>> }>>;
}

/** The service name logged for a request that named features directly. */
export const UNNAMED_SERVICE = '_features';

/** The directory holding one service's log files. */
export function servingLogDir(dataDir: string, service?: string): string {
  return service === undefined ? join(dataDir, 'serving-log') : join(dataDir, 'serving-log', service);
}

/** The file a row served at `servedAt` goes to. */
export function servingLogFile(dataDir: string, service: string, servedAt: number): string {
  return join(servingLogDir(dataDir, service), `${new Date(servedAt).toISOString().slice(0, 13)}.jsonl`);
}

/**
 * The end (epoch ms, exclusive) of the hour a log file's name says its rows were served in
 * (`servingLogFile`), or undefined for a name that is not the layout's.
 *
 * @example
 * servingLogFileEnd('2026-11-30T15.jsonl'); // Date.parse('2026-11-30T16:00:00Z')
 */
export function servingLogFileEnd(name: string): number | undefined {
  const hour = /^(\d{4}-\d{2}-\d{2}T\d{2})\.jsonl$/.exec(name)?.[1];
  const start = hour === undefined ? Number.NaN : Date.parse(`${hour}:00:00.000Z`);
  return Number.isNaN(start) ? undefined : start + 3_600_000;
}

/** A row line's `status` letter for each value status (one letter per feature, in the order of its `values`). */
/**
 * The status a compact row line without `status` implies for a value: `NULL` for `null`, else
 * `PRESENT` (the writer leaves `status` out only when every status is this; every reader implies it back).
 */
export function impliedStatus(isNull: boolean): 'NULL' | 'PRESENT' {
  return isNull ? 'NULL' : 'PRESENT';
}

export const STATUS_CODES: Readonly<Record<ValueStatus, string>> = {
  PRESENT: 'P', NOT_FOUND: 'F', OUTSIDE_TTL: 'T', NULL: 'N', STALE: 'S', NOT_MATERIALIZED: 'M', ERROR: 'E',
};

/** The value status a `status` letter stands for, or undefined for a letter that is not in `STATUS_CODES`. */
export const STATUS_OF_CODE: ReadonlyMap<string, ValueStatus> = new Map(Object.entries(STATUS_CODES).map(([status, code]) => [code, status as ValueStatus]));
