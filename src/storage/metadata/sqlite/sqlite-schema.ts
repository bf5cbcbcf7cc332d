import type { DatasetRecord, Lease, LeaseHolder, RunRecord, Snapshot } from '../metadata-store.js';
import type { SqliteConnection } from './sqlite-driver.js';

/** The metadata tables. Every statement is idempotent, so opening an older database upgrades it. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS registry (version INTEGER PRIMARY KEY, project TEXT NOT NULL, applied_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, version INTEGER NOT NULL, parent_id TEXT,
  files TEXT NOT NULL, row_count INTEGER NOT NULL, added_rows INTEGER NOT NULL,
  content_hash TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (source, version));
CREATE INDEX IF NOT EXISTS snapshots_hash ON snapshots (source, content_hash);
CREATE TABLE IF NOT EXISTS seq_counters (source TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL,
  raw TEXT NOT NULL, reason TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS dead_letters_source ON dead_letters (source, id);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, job TEXT NOT NULL, status TEXT NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER, params TEXT NOT NULL, stats TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY, holder_id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
  acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, started TEXT, renewed_at INTEGER);
CREATE TABLE IF NOT EXISTS lease_sightings (
  name TEXT NOT NULL, clock TEXT NOT NULL, holder_id TEXT NOT NULL, renewed_at INTEGER NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (name, clock));
CREATE TABLE IF NOT EXISTS ingest_cursors (source TEXT PRIMARY KEY, cursor TEXT NOT NULL, snapshot_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot_lineage (snapshot_id TEXT PRIMARY KEY, lineage TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
  id TEXT NOT NULL, path TEXT NOT NULL, record TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (id, path));
`;

export interface SnapshotRow {
  id: string; source: string; version: number; parent_id: string | null; files: string;
  row_count: number; added_rows: number; content_hash: string; created_at: number;
  /** Null for a snapshot of data (and in a database from before the column). */
  operation?: string | null;
}
export interface RunRow {
  id: string; job: string; status: RunRecord['status']; started_at: number; finished_at: number | null;
  params: string; stats: string | null; error: string | null;
}
export interface LeaseRow {
  name: string; holder_id: string; host: string; pid: number; acquired_at: number; expires_at: number; started: string | null;
  /** Null in a row written before the column, or by code that does not know it. */
  renewed_at: number | null;
}

/**
 * The `started` column's text for a holder: its start bound to its id (`<holder id> <start>`), so a
 * row whose holder another writer replaced without knowing the column (code from before the column:
 * its upsert sets `holder_id, host, pid` and leaves `started` as it was) is not read with the previous
 * holder's start: `toHolder` keeps a start only under the id it was written with.
 */
export function storedStart(holder: LeaseHolder): string | null {
  return holder.started === undefined ? null : `${holder.id} ${holder.started}`;
}

/** A holder as stored in columns `holder_id, host, pid, started` (no start: written before starts were recorded, or by code that did not record them). */
export function toHolder(row: { holder_id: string; host: string; pid: number; started: string | null }): LeaseHolder {
  const prefix = `${row.holder_id} `;
  const started = row.started !== null && row.started.startsWith(prefix) ? row.started.slice(prefix.length) : undefined;
  return started === undefined ? { id: row.holder_id, host: row.host, pid: row.pid } : { id: row.holder_id, host: row.host, pid: row.pid, started };
}

/**
 * Adds a column to a table made before it existed (the schema's statements only create): the
 * holder's `started` (leases, run_keys), a lease's `renewed_at`, an unfinished purge's `stores` and `step`, a snapshot's `operation`, an ingest snapshot's `origin`. A nullable column with no
 * default, so an existing metadata file opens and older code can still write its rows.
 */
export function addMissingColumn(db: SqliteConnection, table: 'leases' | 'run_keys' | 'unfinished_purges' | 'snapshots', column: 'started' | 'renewed_at' | 'stores' | 'step' | 'operation' | 'origin', type: 'TEXT' | 'INTEGER'): void {
  const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
  if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}

export function toSnapshot(row: SnapshotRow): Snapshot {
  return {
    id: row.id, source: row.source, version: row.version, parentId: row.parent_id, files: JSON.parse(row.files) as string[],
    rowCount: row.row_count, addedRows: row.added_rows, contentHash: row.content_hash, createdAt: row.created_at,
    ...(row.operation === 'compaction' ? { operation: 'compaction' as const } : {}),
  };
}

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id, job: row.job, status: row.status, startedAt: row.started_at, finishedAt: row.finished_at,
    params: JSON.parse(row.params) as Record<string, unknown>,
    stats: row.stats === null ? null : (JSON.parse(row.stats) as Record<string, unknown>), error: row.error,
  };
}

/**
 * A lease as stored. Its `renewedAt` is never before its acquisition: a row whose holder was
 * replaced, or renewed, by code that does not know `renewed_at` keeps the previous value, so the
 * later of the two is the last time the row shows its holder alive.
 */
export function toLease(row: LeaseRow): Lease {
  return { name: row.name, holder: toHolder(row), acquiredAt: row.acquired_at, renewedAt: Math.max(row.acquired_at, row.renewed_at ?? row.acquired_at), expiresAt: row.expires_at };
}

export function toDataset(row: { record: string }): DatasetRecord {
  return JSON.parse(row.record) as DatasetRecord;
}
