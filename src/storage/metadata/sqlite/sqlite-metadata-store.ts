import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { storedProject, type Project } from '../../../definitions/index.js';
import { runLeaseName, type DeadLetter, type IngestCommitOutcome, type MetadataStore, type RegistryVersion, type RunRecord, type Snapshot, type TransformLineage } from '../metadata-store.js';
import { ConflictError } from '../../../errors.js';
import { contentFiles } from '../content-files.js';
import type { SqliteMetadataConfig } from './config.js';
import { inTransaction, openSqlite } from './sqlite-driver.js';
import { HEALTH_SCHEMA, sqliteHealth } from './sqlite-health.js';
import { AUDIT_SCHEMA, sqliteAudit } from './sqlite-audit.js';
import { ERASURE_SCHEMA, sqliteErasure } from './sqlite-erasure.js';
import { PURGE_SCHEMA, sqlitePurge } from './sqlite-purge.js';
import { KEYS_SCHEMA, sqliteKeys } from './sqlite-keys.js';
import { DRIFT_SCHEMA, sqliteDrift } from './sqlite-drift.js';
import { QUALITY_SCHEMA, sqliteQuality } from './sqlite-quality.js';
import { sqliteLeases } from './sqlite-leases.js';
import { SCHEDULES_SCHEMA, sqliteSchedules } from './sqlite-schedules.js';
import { SKEW_SCHEMA, sqliteSkew } from './sqlite-skew.js';
import { MATERIALIZED_VIEWS_SCHEMA, sqliteMaterializedViews } from './sqlite-materialized-views.js';
import { SCHEMA, addMissingColumn, toDataset, toRun, toSnapshot, type RunRow, type SnapshotRow } from './sqlite-schema.js';

interface RegistryRow {
  version: number; project: string; applied_at: number;
}
const toRegistryVersion = (row: RegistryRow): RegistryVersion => ({ version: row.version, project: storedProject(JSON.parse(row.project) as Project), appliedAt: row.applied_at });

/** A snapshot id: readable (`<source>@<version>`) and unique (a hash of its parent and content). */
function snapshotId(source: string, version: number, parentId: string | null, contentHash: string): string {
  return `${source}@${version}-${createHash('sha256').update(`${parentId}:${contentHash}`).digest('hex').slice(0, 8)}`;
}

/** Whether two lists hold the same files, in any order. */
function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((f) => set.has(f));
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
  // Deleted rows (an erased subject's dead letters, expired data) are zeroed, not left in free pages.
  db.exec('PRAGMA secure_delete = ON');
  inTransaction(db, () => db.exec(SCHEMA + HEALTH_SCHEMA + SCHEDULES_SCHEMA + DRIFT_SCHEMA + QUALITY_SCHEMA + SKEW_SCHEMA + AUDIT_SCHEMA + ERASURE_SCHEMA + PURGE_SCHEMA + KEYS_SCHEMA + MATERIALIZED_VIEWS_SCHEMA));
  inTransaction(db, () => {
    addMissingColumn(db, 'leases', 'started', 'TEXT');
    addMissingColumn(db, 'leases', 'renewed_at', 'INTEGER');
    addMissingColumn(db, 'run_keys', 'started', 'TEXT');
    addMissingColumn(db, 'unfinished_purges', 'stores', 'TEXT');
    addMissingColumn(db, 'unfinished_purges', 'step', 'TEXT');
    addMissingColumn(db, 'snapshots', 'operation', 'TEXT');
    // The input file an ingest read (`IngestCommit.origin`), so a re-run finds its earlier ingests by path too; null before 12-01.
    addMissingColumn(db, 'snapshots', 'origin', 'TEXT');
    db.exec('CREATE INDEX IF NOT EXISTS snapshots_origin ON snapshots (source, origin)');
    // One record per dataset file: a file built again in place before 12-01 kept the overwritten dataset's record too.
    db.exec(`DELETE FROM datasets WHERE rowid NOT IN (SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY path ORDER BY created_at DESC, rowid DESC) AS n FROM datasets) WHERE n = 1)`);
  });
  const leases = sqliteLeases(db);
  const sql = {
    latestRegistry: db.prepare('SELECT * FROM registry ORDER BY version DESC LIMIT 1'),
    registry: db.prepare('SELECT * FROM registry ORDER BY version DESC'),
    maxRegistryVersion: db.prepare('SELECT max(version) AS v FROM registry'),
    insertRegistry: db.prepare('INSERT INTO registry (version, project, applied_at) VALUES (?, ?, ?)'),
    latestSnapshot: db.prepare('SELECT * FROM snapshots WHERE source = ? ORDER BY version DESC LIMIT 1'),
    snapshot: db.prepare('SELECT * FROM snapshots WHERE id = ?'),
    snapshots: db.prepare('SELECT * FROM snapshots ORDER BY created_at DESC, source, version DESC LIMIT ?'),
    snapshotsOf: db.prepare('SELECT * FROM snapshots WHERE source = ? ORDER BY version DESC LIMIT ?'),
    // One indexed read (source, version) instead of listing the history with every snapshot's file list.
    snapshotDataTime: db.prepare(`SELECT coalesce(
      (SELECT created_at FROM snapshots WHERE source = ? AND version <= ? AND added_rows > 0 ORDER BY version DESC LIMIT 1),
      (SELECT created_at FROM snapshots WHERE source = ? AND (SELECT row_count FROM snapshots WHERE source = ? AND version = ?) > 0 ORDER BY version LIMIT 1)) AS at`),
    snapshotFiles: db.prepare('SELECT DISTINCT value AS file FROM snapshots, json_each(snapshots.files)'),
    snapshotByHash: db.prepare('SELECT * FROM snapshots WHERE source = ? AND content_hash = ? ORDER BY version LIMIT 1'),
    snapshotsOfContent: db.prepare('SELECT * FROM snapshots WHERE source = ? AND (content_hash = ? OR (? IS NOT NULL AND origin = ?)) ORDER BY version'),
    insertSnapshot: db.prepare(
      'INSERT INTO snapshots (id, source, version, parent_id, files, row_count, added_rows, content_hash, created_at, operation, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    compactionsOf: db.prepare(`SELECT c.files AS files, p.files AS parent_files FROM snapshots c JOIN snapshots p ON p.id = c.parent_id WHERE c.source = ? AND c.operation = 'compaction'`),
    ingestCursor: db.prepare('SELECT cursor FROM ingest_cursors WHERE source = ?'),
    putIngestCursor: db.prepare('INSERT INTO ingest_cursors (source, cursor, snapshot_id) VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, snapshot_id = excluded.snapshot_id'),
    insertLineage: db.prepare('INSERT INTO snapshot_lineage (snapshot_id, lineage) VALUES (?, ?)'),
    lineage: db.prepare('SELECT lineage FROM snapshot_lineage WHERE snapshot_id = ?'),
    initSeq: db.prepare('INSERT OR IGNORE INTO seq_counters (source, next_seq) VALUES (?, ?)'),
    takeSeq: db.prepare('UPDATE seq_counters SET next_seq = next_seq + ? WHERE source = ? RETURNING next_seq - ? AS first'),
    insertDeadLetter: db.prepare('INSERT INTO dead_letters (source, file, line, raw, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    deadLetters: db.prepare('SELECT * FROM dead_letters ORDER BY id LIMIT ?'),
    deadLettersOf: db.prepare('SELECT * FROM dead_letters WHERE source = ? ORDER BY id LIMIT ?'),
    countDeadLetters: db.prepare('SELECT count(*) AS n FROM dead_letters'),
    countDeadLettersOf: db.prepare('SELECT count(*) AS n FROM dead_letters WHERE source = ?'),
    insertRun: db.prepare('INSERT INTO runs (id, job, status, started_at, params) VALUES (?, ?, ?, ?, ?)'),
    // A run's end is never before its start (a wall clock stepped back meanwhile).
    finishRun: db.prepare('UPDATE runs SET status = ?, finished_at = max(?, started_at), stats = ?, error = ? WHERE id = ?'),
    runs: db.prepare('SELECT * FROM runs WHERE (? IS NULL OR job = ?) AND (? IS NULL OR status = ?) ORDER BY started_at DESC, rowid DESC LIMIT ?'),
    runTotals: db.prepare(`SELECT job, status, json_extract(params, '$.source') AS source, count(*) AS runs,
      coalesce(sum(finished_at - started_at), 0) AS duration_ms, coalesce(sum(json_extract(stats, '$.accepted')), 0) AS accepted,
      coalesce(sum(json_extract(stats, '$.rejected')), 0) AS rejected, max(started_at) AS last_started_at FROM runs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
    deadLetterCounts: db.prepare('SELECT source, count(*) AS n FROM dead_letters GROUP BY source ORDER BY source'),
    replacedDatasets: db.prepare('DELETE FROM datasets WHERE path = ? AND id <> ?'),
    upsertDataset: db.prepare('INSERT INTO datasets (id, path, record, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id, path) DO UPDATE SET record = excluded.record, created_at = excluded.created_at'),
    datasets: db.prepare('SELECT record FROM datasets ORDER BY created_at DESC LIMIT ?'),
  };
  const addDeadLetters = (rows: readonly DeadLetter[]): void => {
    for (const r of rows) sql.insertDeadLetter.run(r.source, r.file, r.line, r.raw, r.reason, r.createdAt);
  };
  const latestSnapshot = (source: string): Snapshot | undefined => {
    const row = sql.latestSnapshot.get(source) as SnapshotRow | undefined;
    return row && toSnapshot(row);
  };
  const blockListStatement = db.prepare('SELECT coalesce(max(seq), 0) AS v FROM erasure_blocked');
  const blockListVersion = (): number => (blockListStatement.get() as { v: number }).v;
  const findIngest = (source: string, contentHash: string): Snapshot | undefined => {
    const row = sql.snapshotByHash.get(source, contentHash) as SnapshotRow | undefined;
    return row && toSnapshot(row);
  };

  const ingestedContent = (source: string, contentHash: string, origin?: string): string[] => {
    const ingests = (sql.snapshotsOfContent.all(source, contentHash, origin ?? null, origin ?? null) as SnapshotRow[]).map(toSnapshot).map((snapshot) => {
      const parent = snapshot.parentId === null ? undefined : (sql.snapshot.get(snapshot.parentId) as SnapshotRow | undefined);
      return { snapshot, parent: parent && toSnapshot(parent) };
    });
    const compacted = new Set<string>();
    for (const c of sql.compactionsOf.all(source) as Array<{ files: string; parent_files: string }>) {
      const kept = new Set(JSON.parse(c.files) as string[]);
      for (const f of JSON.parse(c.parent_files) as string[]) if (!kept.has(f)) compacted.add(f);
    }
    const found = contentFiles(ingests, latestSnapshot(source), compacted);
    if (found === undefined) {
      throw new ConflictError('CONFLICT', `source "${source}": the rows an earlier ingest of this content committed can no longer be told from the rest (the snapshot before it expired, or a compaction merged its files with other rows); nothing was committed: ingest the content without re-running it, or remove the source's rows first`);
    }
    return found;
  };

  return {
    health: sqliteHealth(db),
    audit: sqliteAudit(db),
    erasure: sqliteErasure(db),
    purge: sqlitePurge(db),
    keys: sqliteKeys(db),
    schedules: sqliteSchedules(db),
    drift: sqliteDrift(db),
    quality: sqliteQuality(db),
    skew: sqliteSkew(db),
    materialized: sqliteMaterializedViews(db),
    async latestRegistry() {
      const row = sql.latestRegistry.get() as RegistryRow | undefined;
      return row && toRegistryVersion(row);
    },
    async registryVersions() {
      return (sql.registry.all() as RegistryRow[]).map(toRegistryVersion);
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
    async snapshot(id) {
      const row = sql.snapshot.get(id) as SnapshotRow | undefined;
      return row && toSnapshot(row);
    },
    async listSnapshots({ source, limit = 100 }) {
      return ((source === undefined ? sql.snapshots.all(limit) : sql.snapshotsOf.all(source, limit)) as SnapshotRow[]).map(toSnapshot);
    },
    async snapshotDataTime(source, version) {
      return ((sql.snapshotDataTime.get(source, version, source, source, version) as { at: number | null }).at ?? undefined);
    },
    async referencedFiles() {
      return new Set((sql.snapshotFiles.all() as Array<{ file: string }>).map((r) => r.file));
    },
    async ingestedContent(source, contentHash, origin) {
      return ingestedContent(source, contentHash, origin);
    },
    async findIngest(source, contentHash) {
      return findIngest(source, contentHash);
    },
    async reserveSeq(source, count) {
      return inTransaction(db, () => {
        // Files ingested before `_seq` was reserved numbered their rows from the snapshot's row count.
        sql.initSeq.run(source, latestSnapshot(source)?.rowCount ?? 0);
        return (sql.takeSeq.get(count, source, count) as { first: number }).first;
      });
    },
    async commitIngest(commit, deadLetters) {
      return inTransaction(db, (): IngestCommitOutcome => {
        const earlier = commit.force || commit.replaces ? undefined : findIngest(commit.source, commit.contentHash);
        if (earlier) return { committed: false, snapshot: earlier };
        const mark = (sql.ingestCursor.get(commit.source) as { cursor: string } | undefined)?.cursor ?? null;
        if (commit.cursor !== undefined && mark !== commit.cursor.from) {
          throw new ConflictError('CONFLICT', `source "${commit.source}": another ingest committed rows read after the same high-water mark first; nothing was committed, run the ingest again`);
        }
        if (commit.blockListVersion !== undefined && blockListVersion() !== commit.blockListVersion) {
          throw new ConflictError('CONFLICT', `source "${commit.source}": an erasure request arrived while this batch was ingested (its rows were checked against an older block list); nothing was committed, run the ingest again`, { details: { blockListChanged: true } });
        }
        const replaced = commit.replaces ?? { files: [], rows: 0 };
        if (commit.replaces && !sameFiles(ingestedContent(commit.source, commit.contentHash, commit.origin), commit.replaces.files)) {
          throw new ConflictError('CONFLICT', `source "${commit.source}": the rows this re-run replaces changed while it ran (a purge rewrote them, or another re-run replaced them); nothing was committed, run it again`);
        }
        const parent = latestSnapshot(commit.source);
        const version = (parent?.version ?? 0) + 1;
        const parentId = parent?.id ?? null;
        const gone = new Set(replaced.files);
        const kept = (parent?.files ?? []).filter((f) => !gone.has(f));
        const stored: Snapshot = {
          id: snapshotId(commit.source, version, parentId, commit.contentHash), source: commit.source, version, parentId,
          files: [...kept, ...commit.addedFiles], rowCount: (parent?.rowCount ?? 0) - replaced.rows + commit.addedRows,
          addedRows: commit.addedRows, contentHash: commit.contentHash, createdAt: commit.createdAt ?? Date.now(),
        };
        sql.insertSnapshot.run(stored.id, stored.source, stored.version, stored.parentId, JSON.stringify(stored.files), stored.rowCount, stored.addedRows, stored.contentHash, stored.createdAt, stored.operation ?? null, commit.origin ?? null);
        addDeadLetters(deadLetters);
        if (commit.cursor !== undefined) sql.putIngestCursor.run(commit.source, commit.cursor.to, stored.id);
        return { committed: true, snapshot: stored };
      });
    },
    async ingestCursor(source) {
      return (sql.ingestCursor.get(source) as { cursor: string } | undefined)?.cursor;
    },
    async commitTransform(commit) {
      return inTransaction(db, (): Snapshot => {
        const parent = latestSnapshot(commit.source);
        const version = (parent?.version ?? 0) + 1;
        const parentId = parent?.id ?? null;
        const append = commit.lineage.mode === 'incremental';
        const stored: Snapshot = {
          id: snapshotId(commit.source, version, parentId, commit.contentHash), source: commit.source, version, parentId,
          files: [...(append ? (parent?.files ?? []) : []), ...commit.files], rowCount: (append ? (parent?.rowCount ?? 0) : 0) + commit.rows,
          addedRows: commit.rows, contentHash: commit.contentHash, createdAt: commit.createdAt ?? Date.now(),
        };
        sql.insertSnapshot.run(stored.id, stored.source, stored.version, stored.parentId, JSON.stringify(stored.files), stored.rowCount, stored.addedRows, stored.contentHash, stored.createdAt, stored.operation ?? null, null);
        sql.insertLineage.run(stored.id, JSON.stringify(commit.lineage));
        return stored;
      });
    },
    async commitCompaction(commit) {
      return inTransaction(db, (): Snapshot => {
        const parent = latestSnapshot(commit.source);
        const listed = new Set(parent?.files ?? []);
        const gone = commit.replaced.filter((f) => !listed.has(f));
        if (parent === undefined || gone.length > 0 || commit.replaced.length === 0) {
          throw new ConflictError('CONFLICT', `source "${commit.source}": lake file ${gone[0] ?? '(none)'} that the compaction rewrote is no longer in the latest snapshot (a purge, a re-run or another compaction replaced it); nothing was committed, compact again`, { details: { source: commit.source, compaction: true } });
        }
        const replaced = new Set(commit.replaced);
        const first = parent.files.findIndex((f) => replaced.has(f));
        const kept = parent.files.filter((f) => !replaced.has(f));
        const at = parent.files.slice(0, first).filter((f) => !replaced.has(f)).length;
        const version = parent.version + 1;
        const contentHash = `compaction:${createHash('sha256').update(JSON.stringify([commit.replaced, commit.files])).digest('hex')}`;
        const stored: Snapshot = {
          id: snapshotId(commit.source, version, parent.id, contentHash), source: commit.source, version, parentId: parent.id,
          files: [...kept.slice(0, at), ...commit.files, ...kept.slice(at)], rowCount: parent.rowCount, addedRows: 0, contentHash,
          createdAt: commit.createdAt ?? Date.now(), operation: 'compaction',
        };
        sql.insertSnapshot.run(stored.id, stored.source, stored.version, stored.parentId, JSON.stringify(stored.files), stored.rowCount, stored.addedRows, stored.contentHash, stored.createdAt, 'compaction', null);
        return stored;
      });
    },
    async snapshotLineage(id) {
      const row = sql.lineage.get(id) as { lineage: string } | undefined;
      return row && (JSON.parse(row.lineage) as TransformLineage);
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
    async acquireLease(name, holder, ttlMs, isGone) {
      return leases.acquire(name, holder, ttlMs, isGone);
    },
    async renewLease(name, holderId, ttlMs) {
      return leases.renew(name, holderId, ttlMs);
    },
    async releaseLease(name, holderId, renewedAt) {
      leases.release(name, holderId, renewedAt);
    },
    async sightLease(name, clock, now) {
      return leases.sight(name, clock, now);
    },
    async listLeases() {
      return leases.list();
    },
    async startRun(job, params, lease) {
      const run: RunRecord = { id: randomUUID(), job, status: 'running', startedAt: Date.now(), finishedAt: null, params, stats: null, error: null };
      inTransaction(db, () => {
        sql.insertRun.run(run.id, job, run.status, run.startedAt, JSON.stringify(params));
        leases.put(runLeaseName(run.id), lease.holder, run.startedAt, lease.ttlMs);
      });
      return run;
    },
    async finishRun(id, outcome) {
      inTransaction(db, () => {
        sql.finishRun.run(outcome.status, Date.now(), outcome.stats === undefined ? null : JSON.stringify(outcome.stats), outcome.error ?? null, id);
        leases.remove(runLeaseName(id));
      });
    },
    async failDeadRuns(isGone) {
      return leases.failDeadRuns(isGone);
    },
    async listRuns(limit, filter = {}) {
      return (sql.runs.all(filter.job ?? null, filter.job ?? null, filter.status ?? null, filter.status ?? null, limit) as RunRow[]).map(toRun);
    },
    async runTotals() {
      type Row = { job: string; status: RunRecord['status']; source: unknown; runs: number; duration_ms: number; accepted: number; rejected: number; last_started_at: number };
      return (sql.runTotals.all() as Row[]).map((r) => ({
        job: r.job, status: r.status, source: typeof r.source === 'string' ? r.source : null, runs: r.runs,
        durationMs: r.duration_ms, accepted: r.accepted, rejected: r.rejected, lastStartedAt: r.last_started_at,
      }));
    },
    async deadLetterCounts() {
      return Object.fromEntries((sql.deadLetterCounts.all() as Array<{ source: string; n: number }>).map((r) => [r.source, r.n]));
    },
    async recordDataset(dataset) {
      inTransaction(db, () => {
        sql.replacedDatasets.run(dataset.path, dataset.id);
        sql.upsertDataset.run(dataset.id, dataset.path, JSON.stringify(dataset), dataset.createdAt);
      });
    },
    async listDatasets(limit) {
      return (sql.datasets.all(limit) as Array<{ record: string }>).map(toDataset);
    },
    async close() {
      db.close();
    },
  };
}
