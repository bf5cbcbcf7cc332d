import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Project } from '../../../definitions/index.js';
import { ConflictError } from '../../../errors.js';
import type { DeadLetter, MetadataStore, RegistryVersion, RunRecord, Snapshot } from '../metadata-store.js';
import type { SqliteMetadataConfig } from './config.js';
import { inTransaction, openSqlite } from './sqlite-driver.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS registry (version INTEGER PRIMARY KEY, project TEXT NOT NULL, applied_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, version INTEGER NOT NULL, parent_id TEXT,
  files TEXT NOT NULL, row_count INTEGER NOT NULL, added_rows INTEGER NOT NULL,
  content_hash TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (source, version));
CREATE INDEX IF NOT EXISTS snapshots_hash ON snapshots (source, content_hash);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL,
  raw TEXT NOT NULL, reason TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS dead_letters_source ON dead_letters (source, id);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, job TEXT NOT NULL, status TEXT NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER, params TEXT NOT NULL, stats TEXT, error TEXT);
`;

interface SnapshotRow {
  id: string; source: string; version: number; parent_id: string | null; files: string;
  row_count: number; added_rows: number; content_hash: string; created_at: number;
}
interface RunRow {
  id: string; job: string; status: RunRecord['status']; started_at: number; finished_at: number | null;
  params: string; stats: string | null; error: string | null;
}

function toSnapshot(row: SnapshotRow): Snapshot {
  return {
    id: row.id, source: row.source, version: row.version, parentId: row.parent_id, files: JSON.parse(row.files) as string[],
    rowCount: row.row_count, addedRows: row.added_rows, contentHash: row.content_hash, createdAt: row.created_at,
  };
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id, job: row.job, status: row.status, startedAt: row.started_at, finishedAt: row.finished_at,
    params: JSON.parse(row.params) as Record<string, unknown>,
    stats: row.stats === null ? null : (JSON.parse(row.stats) as Record<string, unknown>), error: row.error,
  };
}

/**
 * The embedded metadata store: SQLite in WAL mode, so a CLI and a server can use it at once
 * (one writer at a time, readers never blocked; writers wait up to `busyTimeoutMs`). Statements
 * are prepared once per store: a prepared statement is cheap to reuse and never left to the GC.
 *
 * @example
 * const store = sqliteMetadataStore({ path: '.sluice/metadata.db' });
 */
export function sqliteMetadataStore(config: SqliteMetadataConfig): MetadataStore {
  mkdirSync(dirname(config.path), { recursive: true });
  const db = openSqlite(config.path, config.driver);
  db.exec(`PRAGMA busy_timeout = ${Math.floor(config.busyTimeoutMs ?? 10_000)}`);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  inTransaction(db, () => db.exec(SCHEMA));
  const sql = {
    latestRegistry: db.prepare('SELECT * FROM registry ORDER BY version DESC LIMIT 1'),
    maxRegistryVersion: db.prepare('SELECT max(version) AS v FROM registry'),
    insertRegistry: db.prepare('INSERT INTO registry (version, project, applied_at) VALUES (?, ?, ?)'),
    latestSnapshot: db.prepare('SELECT * FROM snapshots WHERE source = ? ORDER BY version DESC LIMIT 1'),
    snapshotByHash: db.prepare('SELECT * FROM snapshots WHERE source = ? AND content_hash = ? ORDER BY version LIMIT 1'),
    insertSnapshot: db.prepare(
      'INSERT INTO snapshots (id, source, version, parent_id, files, row_count, added_rows, content_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertDeadLetter: db.prepare('INSERT INTO dead_letters (source, file, line, raw, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    deadLetters: db.prepare('SELECT * FROM dead_letters ORDER BY id LIMIT ?'),
    deadLettersOf: db.prepare('SELECT * FROM dead_letters WHERE source = ? ORDER BY id LIMIT ?'),
    countDeadLetters: db.prepare('SELECT count(*) AS n FROM dead_letters'),
    countDeadLettersOf: db.prepare('SELECT count(*) AS n FROM dead_letters WHERE source = ?'),
    insertRun: db.prepare('INSERT INTO runs (id, job, status, started_at, params) VALUES (?, ?, ?, ?, ?)'),
    finishRun: db.prepare('UPDATE runs SET status = ?, finished_at = ?, stats = ?, error = ? WHERE id = ?'),
    runs: db.prepare('SELECT * FROM runs ORDER BY started_at DESC LIMIT ?'),
  };
  const addDeadLetters = (rows: readonly DeadLetter[]): void => {
    for (const r of rows) sql.insertDeadLetter.run(r.source, r.file, r.line, r.raw, r.reason, r.createdAt);
  };
  const latestSnapshot = (source: string): Snapshot | undefined => {
    const row = sql.latestSnapshot.get(source) as SnapshotRow | undefined;
    return row && toSnapshot(row);
  };

  return {
    async latestRegistry() {
      const row = sql.latestRegistry.get() as { version: number; project: string; applied_at: number } | undefined;
      return row && { version: row.version, project: JSON.parse(row.project) as Project, appliedAt: row.applied_at };
    },
    async recordRegistry(project) {
      return inTransaction(db, (): RegistryVersion => {
        const version = ((sql.maxRegistryVersion.get() as { v: number | null }).v ?? 0) + 1;
        const appliedAt = Date.now();
        sql.insertRegistry.run(version, JSON.stringify(project), appliedAt);
        return { version, project, appliedAt };
      });
    },
    async latestSnapshot(source) {
      return latestSnapshot(source);
    },
    async findIngest(source, contentHash) {
      const row = sql.snapshotByHash.get(source, contentHash) as SnapshotRow | undefined;
      return row && toSnapshot(row);
    },
    async commitIngest(snapshot, deadLetters) {
      return inTransaction(db, (): Snapshot => {
        const current = latestSnapshot(snapshot.source);
        if ((current?.id ?? null) !== snapshot.parentId) {
          throw new ConflictError('CONFLICT', `source "${snapshot.source}" changed while ingesting (now at ${current?.id}); run the ingest again`);
        }
        const stored: Snapshot = { ...snapshot, version: (current?.version ?? 0) + 1, createdAt: Date.now() };
        sql.insertSnapshot.run(stored.id, stored.source, stored.version, stored.parentId, JSON.stringify(stored.files), stored.rowCount, stored.addedRows, stored.contentHash, stored.createdAt);
        addDeadLetters(deadLetters);
        return stored;
      });
    },
    async addDeadLetters(deadLetters) {
      inTransaction(db, () => addDeadLetters(deadLetters));
    },
    async listDeadLetters({ source, limit = 100 }) {
      const rows = (source === undefined ? sql.deadLetters.all(limit) : sql.deadLettersOf.all(source, limit)) as Array<DeadLetter & { created_at: number }>;
      return rows.map((r) => ({ source: r.source, file: r.file, line: r.line, raw: r.raw, reason: r.reason, createdAt: r.created_at }));
    },
    async countDeadLetters(source) {
      return ((source === undefined ? sql.countDeadLetters.get() : sql.countDeadLettersOf.get(source)) as { n: number }).n;
    },
    async startRun(job, params) {
      const run: RunRecord = { id: randomUUID(), job, status: 'running', startedAt: Date.now(), finishedAt: null, params, stats: null, error: null };
      sql.insertRun.run(run.id, job, run.status, run.startedAt, JSON.stringify(params));
      return run;
    },
    async finishRun(id, outcome) {
      sql.finishRun.run(outcome.status, Date.now(), outcome.stats === undefined ? null : JSON.stringify(outcome.stats), outcome.error ?? null, id);
    },
    async listRuns(limit) {
      return (sql.runs.all(limit) as RunRow[]).map(toRun);
    },
    async close() {
      db.close();
    },
  };
}
