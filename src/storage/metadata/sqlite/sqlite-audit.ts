import { auditRecordHash, GENESIS_HASH } from '../../../compliance/audit-hash.js';
import type { AuditEvent, AuditListFilter, AuditRecord, AuditTrail } from '../audit-store.js';
import { inTransaction, type SqliteConnection, type SqliteStatement } from './sqlite-driver.js';

export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
  outcome TEXT NOT NULL, origin TEXT, purpose TEXT, details TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, seq);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: records cannot be changed; append a new record instead'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: records cannot be deleted, not even by retention (see docs/compliance-audit.md)'); END;
`;

interface AuditRow {
  seq: number; at: number; actor: string; action: string; target: string; outcome: string; origin: string | null;
  purpose: string | null; details: string | null; prev_hash: string; hash: string;
}

/** Reads a row as stored, without checking it: verification is the verifier's job. */
export const toAuditRecord = (row: AuditRow): AuditRecord => ({
  seq: row.seq, at: row.at, actor: row.actor, action: row.action, target: row.target, outcome: row.outcome as AuditRecord['outcome'],
  ...(row.origin === null ? {} : { origin: row.origin }),
  ...(row.purpose === null ? {} : { purpose: row.purpose }),
  ...(row.details === null ? {} : { details: JSON.parse(row.details) as Record<string, unknown> }),
  prevHash: row.prev_hash, hash: row.hash,
});

/** The audit trail in the metadata database: appends take the head and write the next record in one transaction. */
export function sqliteAudit(db: SqliteConnection): AuditTrail {
  const sql = {
    head: db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1'),
    insert: db.prepare('INSERT INTO audit_log (seq, at, actor, action, target, outcome, origin, purpose, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
  };
  // One prepared statement per shape of filter (at most 8), made when first used.
  const lists = new Map<string, SqliteStatement>();
  const listStatement = (filter: AuditListFilter) => {
    const where = ['seq >= ?', 'at >= ?', ...(filter.action === undefined ? [] : ['action = ?']), ...(filter.actor === undefined ? [] : ['actor = ?'])];
    const text = `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq${filter.newestFirst === true ? ' DESC' : ''} LIMIT ?`;
    let statement = lists.get(text);
    if (!statement) lists.set(text, (statement = db.prepare(text)));
    return statement;
  };
  const appendOne = (event: AuditEvent, at: number, head: Pick<AuditRow, 'seq' | 'hash'> | undefined): AuditRecord => {
    // The details are stored as JSON and hashed as they read back, so the writer and a verifier hash the same value.
    const detailsJson = event.details === undefined ? null : JSON.stringify(event.details);
    const base = {
      seq: (head?.seq ?? 0) + 1, at, actor: event.actor, action: event.action, target: event.target, outcome: event.outcome,
      ...(event.origin === undefined ? {} : { origin: event.origin }),
      ...(event.purpose === undefined ? {} : { purpose: event.purpose }),
      ...(detailsJson === null ? {} : { details: JSON.parse(detailsJson) as Record<string, unknown> }),
      prevHash: head?.hash ?? GENESIS_HASH,
    };
    const record: AuditRecord = { ...base, hash: auditRecordHash(base) };
    sql.insert.run(record.seq, at, record.actor, record.action, record.target, record.outcome, record.origin ?? null, record.purpose ?? null, detailsJson, record.prevHash, record.hash);
    return record;
  };
  return {
    async append(event, at) {
      return inTransaction(db, () => appendOne(event, at, sql.head.get() as AuditRow | undefined));
    },
    async appendMany(entries) {
      return inTransaction(db, () => {
        const records: AuditRecord[] = [];
        let head: Pick<AuditRow, 'seq' | 'hash'> | undefined = sql.head.get() as AuditRow | undefined;
        for (const { event, at } of entries) {
          const record = appendOne(event, at, head);
          records.push(record);
          head = record;
        }
        return records;
      });
    },
    async list(filter = {}) {
      const params = [filter.fromSeq ?? 1, filter.since ?? Number.MIN_SAFE_INTEGER, ...(filter.action === undefined ? [] : [filter.action]), ...(filter.actor === undefined ? [] : [filter.actor]), filter.limit ?? -1];
      const rows = listStatement(filter).all(...params) as AuditRow[];
      return rows.map(toAuditRecord);
    },
    async head() {
      const row = sql.head.get() as AuditRow | undefined;
      return row && toAuditRecord(row);
    },
  };
}
