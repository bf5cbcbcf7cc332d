import { ConflictError } from '../../../errors.js';
import type { ErasureRequest, ErasureStore } from '../erasure-store.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const ERASURE_SCHEMA = `
CREATE TABLE IF NOT EXISTS erasure_requests (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL, subject TEXT NOT NULL, reason TEXT, requested_by TEXT NOT NULL,
  received_at INTEGER NOT NULL, deadline_at INTEGER NOT NULL, status TEXT NOT NULL, completed_at INTEGER, error TEXT, certificate TEXT);
CREATE INDEX IF NOT EXISTS erasure_requests_subject ON erasure_requests (subject, status);
CREATE TABLE IF NOT EXISTS erasure_blocked (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL UNIQUE, entity TEXT NOT NULL, blocked_at INTEGER NOT NULL);
`;

interface RequestRow {
  seq: number; entity: string; subject: string; reason: string | null; requested_by: string; received_at: number; deadline_at: number;
  status: ErasureRequest['status']; completed_at: number | null; error: string | null; certificate: string | null;
}

const toRequest = (row: RequestRow): ErasureRequest => ({
  id: `erase-${row.seq}`, entity: row.entity, subject: row.subject, ...(row.reason === null ? {} : { reason: row.reason }),
  requestedBy: row.requested_by, receivedAt: row.received_at, deadlineAt: row.deadline_at, status: row.status,
  completedAt: row.completed_at, error: row.error, certificate: row.certificate === null ? null : (JSON.parse(row.certificate) as Record<string, unknown>),
});

const seqOf = (id: string): number => (/^erase-\d+$/.test(id) ? Number(id.slice('erase-'.length)) : -1);

/** Erasure requests and the block list in the metadata database. */
export function sqliteErasure(db: SqliteConnection): ErasureStore {
  const sql = {
    pending: db.prepare(`SELECT * FROM erasure_requests WHERE subject = ? AND status <> 'completed' ORDER BY seq DESC LIMIT 1`),
    insert: db.prepare('INSERT INTO erasure_requests (entity, subject, reason, requested_by, received_at, deadline_at, status) VALUES (?, ?, ?, ?, ?, ?, \'pending\') RETURNING *'),
    block: db.prepare('INSERT OR IGNORE INTO erasure_blocked (subject, entity, blocked_at) VALUES (?, ?, ?)'),
    finish: db.prepare('UPDATE erasure_requests SET status = ?, completed_at = ?, error = ?, certificate = ? WHERE seq = ?'),
    get: db.prepare('SELECT * FROM erasure_requests WHERE seq = ?'),
    list: db.prepare('SELECT * FROM erasure_requests WHERE (? IS NULL OR status = ?) ORDER BY seq DESC'),
    hashes: db.prepare('SELECT subject FROM erasure_blocked ORDER BY seq'),
    version: db.prepare('SELECT coalesce(max(seq), 0) AS v FROM erasure_blocked'),
    pendingOf: db.prepare('SELECT count(*) AS n FROM pending_deletions WHERE owner = ?'),
    unfinishedOf: db.prepare('SELECT group_concat(source, \', \') AS sources FROM unfinished_purges WHERE owner = ?'),
  };
  return {
    async request(request) {
      return inTransaction(db, () => {
        sql.block.run(request.subject, request.entity, request.receivedAt);
        const open = sql.pending.get(request.subject) as RequestRow | undefined;
        if (open) return { request: toRequest(open), created: false };
        const row = sql.insert.get(request.entity, request.subject, request.reason ?? null, request.requestedBy, request.receivedAt, request.deadlineAt) as RequestRow;
        return { request: toRequest(row), created: true };
      });
    },
    async finish(id, outcome) {
      const certificate = outcome.status === 'completed' ? JSON.stringify(outcome.certificate) : null;
      inTransaction(db, () => {
        const pending = outcome.status === 'completed' ? (sql.pendingOf.get(id) as { n: number }).n : 0;
        if (pending > 0) {
          throw new ConflictError('CONFLICT', `erasure request ${id}: ${pending} lake file(s) it swapped out still hold the subject's rows and are not deleted yet; it stays pending, run \`sluice erase\` again to delete them`);
        }
        const unfinished = outcome.status === 'completed' ? (sql.unfinishedOf.get(id) as { sources: string | null }).sources : null;
        if (unfinished !== null) {
          throw new ConflictError('CONFLICT', `erasure request ${id}: the online views (and datasets) of ${unfinished} are not rebuilt from the purged lake yet; it stays pending, run \`sluice erase\` again to finish them`);
        }
        sql.finish.run(outcome.status, outcome.at, outcome.status === 'failed' ? outcome.error : null, certificate, seqOf(id));
      });
    },
    async get(id) {
      const row = sql.get.get(seqOf(id)) as RequestRow | undefined;
      return row && toRequest(row);
    },
    async list(filter = {}) {
      return (sql.list.all(filter.status ?? null, filter.status ?? null) as RequestRow[]).map(toRequest);
    },
    async blockList() {
      // The version is read first: a subject added in between makes the next check reload.
      const version = (sql.version.get() as { v: number }).v;
      return { version, hashes: (sql.hashes.all() as { subject: string }[]).map((r) => r.subject) };
    },
    async blockListVersion() {
      return (sql.version.get() as { v: number }).v;
    },
    async expungeDeleted() {
      // secure_delete (on for this connection) zeroed deleted rows in their pages; the WAL may
      // still hold earlier images of those pages until it is checkpointed and truncated.
      const [result] = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').all() as { busy: number }[];
      return { complete: result?.busy === 0 };
    },
  };
}
