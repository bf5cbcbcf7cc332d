import { deadLetterMentions, rawMentions } from '../../../definitions/key-mentions.js';
import { ConflictError } from '../../../errors.js';
import type { PendingDeletion, PurgeStore, SnapshotRewriteRecord, StoreCount, UnfinishedPurge } from '../purge-store.js';
import { toSnapshot, type SnapshotRow } from './sqlite-schema.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const PURGE_SCHEMA = `
CREATE TABLE IF NOT EXISTS snapshot_rewrites (
  id INTEGER PRIMARY KEY AUTOINCREMENT, snapshot_id TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
  rows_before INTEGER NOT NULL, rows_after INTEGER NOT NULL, files_before TEXT NOT NULL, files_after TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS snapshot_rewrites_snapshot ON snapshot_rewrites (snapshot_id);
CREATE INDEX IF NOT EXISTS snapshot_rewrites_source ON snapshot_rewrites (source, id);
CREATE TABLE IF NOT EXISTS pending_deletions (
  file TEXT PRIMARY KEY, source TEXT NOT NULL, reason TEXT NOT NULL, owner TEXT, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending_deletions_owner ON pending_deletions (owner);
CREATE TABLE IF NOT EXISTS unfinished_purges (
  source TEXT NOT NULL, owner TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL, rows INTEGER NOT NULL, stores TEXT, step TEXT, PRIMARY KEY (source, owner));
`;

/** The stored bytes of a dead letter's raw text and reason. */
const BYTES = 'length(CAST(raw AS BLOB)) + length(CAST(reason AS BLOB))';
/**
 * The dead letters that may mention a key part (bound four times), selected in SQL before the
 * rule (`deadLetterMentions`) decides: their raw text or reason holds it as written, their raw text
 * JSON-escaped (`a\\"b` for `a"b`: a torn JSON row), or, for raw JSON, one of its decoded strings,
 * numbers or member names does: a row may write a key with escapes (`"c\\u0037"` for `c7`), which
 * the text alone does not show. An escape needs a backslash, so only such rows are decoded
 * (json_tree on every row cost ~6x the CPU: BENCHMARKS.md, 2026-11-30 governance pass), except for
 * a numeric part (`1e2` is 100). Every row the rule matches is selected; most others are not read.
 */
const mentions = (part: string): string => `(instr(raw || char(10) || reason, ?) > 0 OR instr(raw, ?) > 0 OR (${/^[-+0-9.eE]+$/.test(part) ? '1' : 'instr(raw, char(92)) > 0'}
  AND EXISTS (SELECT 1 FROM json_tree(CASE WHEN json_valid(raw) THEN raw ELSE '[]' END) AS j WHERE instr(j.value, ?) > 0 OR instr(j.key, ?) > 0)))`;

interface RewriteRow {
  snapshot_id: string; source: string; reason: string; at: number; rows_before: number; rows_after: number; files_before: string; files_after: string;
}
const toRecord = (r: RewriteRow): SnapshotRewriteRecord => ({
  snapshotId: r.snapshot_id, source: r.source, reason: r.reason, at: r.at, rowsBefore: r.rows_before, rowsAfter: r.rows_after,
  filesBefore: JSON.parse(r.files_before) as string[], filesAfter: JSON.parse(r.files_after) as string[],
});

/** Physical removal in the metadata database (see `PurgeStore`). */
export function sqlitePurge(db: SqliteConnection): PurgeStore {
  const sql = {
    snapshotsOf: db.prepare('SELECT id, files, row_count FROM snapshots WHERE source = ? ORDER BY version'),
    updateSnapshot: db.prepare('UPDATE snapshots SET files = ?, row_count = ? WHERE id = ?'),
    insertRewrite: db.prepare('INSERT INTO snapshot_rewrites (snapshot_id, source, reason, at, rows_before, rows_after, files_before, files_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    rewritesOfSnapshot: db.prepare('SELECT * FROM snapshot_rewrites WHERE snapshot_id = ? ORDER BY id'),
    rewritesOfSource: db.prepare('SELECT * FROM snapshot_rewrites WHERE source = ? ORDER BY id'),
    oldDeadLetters: db.prepare(`SELECT id, ${BYTES} AS bytes FROM dead_letters WHERE source = ? AND created_at < ?`),
    deleteDeadLetter: db.prepare('DELETE FROM dead_letters WHERE id = ?'),
    expired: db.prepare('SELECT * FROM snapshots WHERE source = ? AND created_at < ? AND version < (SELECT max(version) FROM snapshots WHERE source = ?) ORDER BY version'),
    deleteSnapshot: db.prepare('DELETE FROM snapshots WHERE id = ?'),
    quarantinedRows: db.prepare("UPDATE quarantine SET rows = ? WHERE id = ? AND status = 'held'"),
    deleteLineage: db.prepare('DELETE FROM snapshot_lineage WHERE snapshot_id = ?'),
    resultsOf: db.prepare(`SELECT id, result FROM check_results WHERE dataset = ? AND result NOT LIKE '%"samples":[]%'`),
    setResult: db.prepare('UPDATE check_results SET result = ? WHERE id = ?'),
    batchesOf: db.prepare('SELECT id, results FROM quarantine WHERE dataset = ?'),
    setBatchResults: db.prepare('UPDATE quarantine SET results = ? WHERE id = ?'),
    conditionsWithSamples: db.prepare(`SELECT kind, subject, details FROM conditions WHERE details LIKE '%"samples"%'`),
    setConditionDetails: db.prepare('UPDATE conditions SET details = ? WHERE kind = ? AND subject = ?'),
    alertsWithSamples: db.prepare(`SELECT id, condition FROM alert_outbox WHERE condition LIKE '%"samples"%'`),
    setAlertCondition: db.prepare('UPDATE alert_outbox SET condition = ? WHERE id = ?'),
    listed: db.prepare('SELECT 1 FROM snapshots, json_each(snapshots.files) AS f WHERE f.value = ? LIMIT 1'),
    addPending: db.prepare('INSERT OR IGNORE INTO pending_deletions (file, source, reason, owner, at) VALUES (?, ?, ?, ?, ?)'),
    pending: db.prepare('SELECT * FROM pending_deletions ORDER BY at, file'),
    clearPending: db.prepare('DELETE FROM pending_deletions WHERE file = ?'),
    addUnfinished: db.prepare(`INSERT INTO unfinished_purges (source, owner, reason, at, rows) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (source, owner) DO UPDATE SET rows = rows + excluded.rows, at = excluded.at, reason = excluded.reason`),
    progress: db.prepare(`INSERT INTO unfinished_purges (source, owner, reason, at, rows, stores, step) VALUES (?, ?, ?, ?, 0, ?, ?)
      ON CONFLICT (source, owner) DO UPDATE SET stores = excluded.stores, step = excluded.step`),
    unfinished: db.prepare('SELECT * FROM unfinished_purges ORDER BY at, source, owner'),
    clearUnfinished: db.prepare('DELETE FROM unfinished_purges WHERE source = ?'),
  };
  /** Records the files no snapshot lists any more as to be deleted (inside the caller's transaction). */
  const recordPending = (files: Iterable<string>, source: string, reason: string, owner: string | null, at: number) => {
    for (const file of files) if (sql.listed.get(file) === undefined) sql.addPending.run(file, source, reason, owner, at);
  };
  return {
    async rewriteSnapshotFiles(rewrite) {
      return inTransaction(db, () => {
        const snapshots = sql.snapshotsOf.all(rewrite.source) as Array<{ id: string; files: string; row_count: number }>;
        const listed = new Set(snapshots.flatMap((s) => JSON.parse(s.files) as string[]));
        const gone = Object.keys(rewrite.replaced).filter((f) => !listed.has(f));
        if (gone.length > 0) {
          throw new ConflictError('CONFLICT', `source "${rewrite.source}": lake file ${gone[0]} is no longer listed by any snapshot (another rewrite replaced it); nothing was changed, run the purge again`);
        }
        const records: SnapshotRewriteRecord[] = [];
        for (const s of snapshots) {
          const before = JSON.parse(s.files) as string[];
          if (!before.some((f) => f in rewrite.replaced)) continue;
          const after = before.flatMap((f) => (f in rewrite.replaced ? (rewrite.replaced[f] === null ? [] : [rewrite.replaced[f]!]) : [f]));
          const removed = before.reduce((n, f) => n + (rewrite.removedRows[f] ?? 0), 0);
          const rowsAfter = Math.max(0, s.row_count - removed);
          sql.updateSnapshot.run(JSON.stringify(after), rowsAfter, s.id);
          sql.insertRewrite.run(s.id, rewrite.source, rewrite.reason, rewrite.at, s.row_count, rowsAfter, JSON.stringify(before), JSON.stringify(after));
          records.push({ snapshotId: s.id, source: rewrite.source, reason: rewrite.reason, at: rewrite.at, rowsBefore: s.row_count, rowsAfter, filesBefore: before, filesAfter: after });
        }
        recordPending(Object.keys(rewrite.replaced), rewrite.source, rewrite.reason, rewrite.owner ?? null, rewrite.at);
        const removed = Object.values(rewrite.removedRows).reduce((n, r) => n + r, 0);
        sql.addUnfinished.run(rewrite.source, rewrite.owner ?? '', rewrite.reason, rewrite.at, removed);
        return records;
      });
    },
    async snapshotRewrites({ snapshotId, source }) {
      const rows = snapshotId !== undefined ? sql.rewritesOfSnapshot.all(snapshotId) : sql.rewritesOfSource.all(source ?? '');
      return (rows as RewriteRow[]).filter((r) => source === undefined || r.source === source).map(toRecord);
    },
    async purgeCheckSamples(dataset, containing, dryRun = false) {
      const mentions = (sample: unknown) => typeof sample === 'string' && containing.some((parts) => rawMentions(sample, parts));
      let rows = 0;
      let bytes = 0;
      /** The value with every `samples` list (a check's failing rows as text) of `dataset` cleared of samples that mention a key. */
      const redact = (value: unknown, owner?: string): unknown => {
        if (Array.isArray(value)) return value.map((v) => redact(v, owner));
        if (value === null || typeof value !== 'object') return value;
        const object = value as Record<string, unknown>;
        const of = typeof object.dataset === 'string' ? object.dataset : owner;
        return Object.fromEntries(Object.entries(object).map(([k, v]) => {
          if (k !== 'samples' || !Array.isArray(v) || of !== dataset) return [k, redact(v, of)];
          const dropped = v.filter(mentions) as string[];
          rows += dropped.length;
          bytes += dropped.reduce((n, t) => n + Buffer.byteLength(t), 0);
          return [k, v.filter((t) => !mentions(t))];
        }));
      };
      /** Rewrites one stored JSON text; true when it held such a sample. */
      const rewrite = (text: string | null, store: (json: string) => void): boolean => {
        if (text === null) return false;
        const before = rows;
        const kept = redact(JSON.parse(text));
        if (rows === before) return false;
        if (!dryRun) store(JSON.stringify(kept));
        return true;
      };
      return inTransaction(db, () => {
        for (const r of sql.resultsOf.all(dataset) as Array<{ id: number; result: string }>) rewrite(r.result, (json) => sql.setResult.run(json, r.id));
        const batches: number[] = [];
        for (const b of sql.batchesOf.all(dataset) as Array<{ id: number; results: string }>) {
          if (rewrite(b.results, (json) => sql.setBatchResults.run(json, b.id))) batches.push(b.id);
        }
        // Health conditions and queued alerts of a failed check carry its samples too.
        for (const c of sql.conditionsWithSamples.all() as Array<{ kind: string; subject: string; details: string | null }>) rewrite(c.details, (json) => sql.setConditionDetails.run(json, c.kind, c.subject));
        for (const a of sql.alertsWithSamples.all() as Array<{ id: number; condition: string }>) rewrite(a.condition, (json) => sql.setAlertCondition.run(json, a.id));
        return { rows, bytes, batches };
      });
    },
    async setQuarantinedRows(id, rows) {
      return Number((sql.quarantinedRows.run(rows, id) as { changes: number | bigint }).changes) > 0;
    },
    async expireSnapshots(source, before, dryRun = false) {
      return inTransaction(db, () => {
        const expired = (sql.expired.all(source, before, source) as SnapshotRow[]).map(toSnapshot);
        if (!dryRun) {
          for (const s of expired) {
            sql.deleteSnapshot.run(s.id);
            sql.deleteLineage.run(s.id);
          }
          recordPending(new Set(expired.flatMap((s) => s.files)), source, 'retention', null, Date.now());
        }
        return expired;
      });
    },
    async pendingDeletions(filter = {}) {
      const rows = sql.pending.all() as Array<{ file: string; source: string; reason: string; owner: string | null; at: number }>;
      return rows
        .filter((r) => (filter.sources === undefined || filter.sources.includes(r.source)) && (filter.owner === undefined || r.owner === filter.owner))
        .map((r): PendingDeletion => ({ file: r.file, source: r.source, reason: r.reason, owner: r.owner, at: r.at }));
    },
    async clearPendingDeletions(files) {
      inTransaction(db, () => {
        for (const file of files) sql.clearPending.run(file);
      });
    },
    async unfinishedPurges(filter = {}) {
      const rows = sql.unfinished.all() as Array<{ source: string; owner: string; reason: string; at: number; rows: number; stores: string | null; step: string | null }>;
      return rows
        .filter((r) => (filter.sources === undefined || filter.sources.includes(r.source)) && (filter.owner === undefined || r.owner === filter.owner))
        .map((r): UnfinishedPurge => ({
          source: r.source, owner: r.owner === '' ? null : r.owner, reason: r.reason, at: r.at, rows: r.rows,
          stores: r.stores === null ? [] : (JSON.parse(r.stores) as StoreCount[]), step: r.step,
        }));
    },
    async recordPurgeProgress(progress) {
      sql.progress.run(progress.source, progress.owner ?? '', progress.reason, progress.at, JSON.stringify(progress.stores.map((s) => ({ store: s.store, rows: s.rows, bytes: s.bytes }))), progress.step);
    },
    async clearUnfinishedPurges(sources) {
      inTransaction(db, () => {
        for (const source of sources) sql.clearUnfinished.run(source);
      });
    },
    async purgeDeadLetters(source, match, dryRun = false) {
      return inTransaction(db, () => {
        const ids = new Map<number, number>();
        const take = (rows: unknown[]) => {
          for (const r of rows as Array<{ id: number; bytes: number }>) ids.set(r.id, r.bytes);
        };
        if (match.before !== undefined) take(sql.oldDeadLetters.all(source, match.before));
        for (const parts of match.containing ?? []) {
          if (parts.length === 0) continue;
          const candidates = db.prepare(`SELECT id, raw, reason, ${BYTES} AS bytes FROM dead_letters WHERE source = ? AND ${parts.map(mentions).join(' AND ')}`).all(source, ...parts.flatMap((p) => [p, JSON.stringify(p).slice(1, -1), p, p]));
          take((candidates as Array<{ id: number; raw: string; reason: string; bytes: number }>).filter((r) => deadLetterMentions(r.raw, r.reason, parts)));
        }
        if (!dryRun) for (const id of ids.keys()) sql.deleteDeadLetter.run(id);
        return { rows: ids.size, bytes: [...ids.values()].reduce((a, b) => a + b, 0) };
      });
    },
  };
}
