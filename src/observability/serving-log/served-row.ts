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
 * after a crash is skipped by readers). DuckDB reads them set-based with `read_ndjson_objects`
 * (a row line is one with an `entityKey`).
 *
 * Lines (the compact format, written since 2026-11-29, later that day than the lean one):
 * - a names line, in each append before the first row that refers to it:
 *   `{"columns":"<id>","names":["<view>__<feature>",...]}` (no `entityKey`, no `requestId`); the
 *   id is the first 16 hex digits of the SHA-256 of the names' JSON, so the same list of names
 *   has the same id in every process and file, and two lists in one log never share one;
 * - a request line, once per request that had sampled rows, before them in the same append:
 *   `{"requestId","service","joinKeys","asOf","servedAt","views"}` (no `entityKey`; `joinKeys`
 *   since 2026-11-30 (10));
 * - a row line per sampled row: `{"servedAt","entityKey"[,"keys"],"columns","values"[,"status"]}`:
 *   `values` is the row's features by position in the names of the names line `columns` (join
 *   keys left out), each exactly the text the HTTP answer wrote for it; `status` one letter per
 *   value, in the same order (`STATUS_CODES`), left out (since 2026-11-29 (8)) when every letter is
 *   the one its value implies: `N` (NULL) for `null`, `P` (PRESENT) for any other value; a row's
 *   request parts (`requestId`, `service`, `asOf`, `views`) come from its request line: since
 *   2026-11-30 (10) the last request line before it, with nothing but that request's other rows
 *   between them and the same `servedAt` (checked); a row line written before then names its
 *   request (`"requestId"` first) and is read by that id. `keys` is left out (since 2026-11-30 (10))
 *   when the request line's `joinKeys` is one key and its value is the entity key's text: the row's
 *   `keys` is then `{<that key>: entityKey}`.
 * A build from before 2026-11-29 (8) does not read a row line without `status` (it skips it, and its
 * drift profile leaves it out), nor one from before 2026-11-30 (10) a row line without `requestId`
 * or `keys` (its JS reader skips it: the skew job and retention leave it, erasure still removes it by its
 * text; its DuckDB scan, drift's, reads it): do not roll back to one over a log written since.
 * Lines written before are read as they were, and a file may hold all of them: the lean row line
 * (`values` an object by name, no `columns`; 2026-11-29) and, before it, one self-contained
 * `ServedRow` per line (`statuses` an object by feature).
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
