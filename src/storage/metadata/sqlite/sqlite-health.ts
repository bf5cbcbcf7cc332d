import type { AlertRecord, Condition, ConditionReport, ConditionTransition, HealthStore } from '../health-store.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const HEALTH_SCHEMA = `
CREATE TABLE IF NOT EXISTS conditions (
  kind TEXT NOT NULL, subject TEXT NOT NULL, firing INTEGER NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL,
  details TEXT, since INTEGER NOT NULL, updated_at INTEGER NOT NULL, resolved_at INTEGER, PRIMARY KEY (kind, subject));
CREATE TABLE IF NOT EXISTS alert_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, transition TEXT NOT NULL, condition TEXT NOT NULL, created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, delivered_at INTEGER, last_error TEXT);
CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (delivered_at, next_attempt_at);
`;

interface ConditionRow {
  kind: string; subject: string; firing: number; severity: string; message: string; details: string | null;
  since: number; updated_at: number; resolved_at: number | null;
}
interface AlertRow {
  id: number; transition: string; condition: string; created_at: number; attempts: number; next_attempt_at: number;
  delivered_at: number | null; last_error: string | null;
}

const toCondition = (row: ConditionRow): Condition => ({
  kind: row.kind, subject: row.subject, firing: row.firing === 1, severity: row.severity as Condition['severity'], message: row.message,
  ...(row.details === null ? {} : { details: JSON.parse(row.details) as Record<string, unknown> }),
  since: row.since, updatedAt: row.updated_at, resolvedAt: row.resolved_at,
});
const toAlert = (row: AlertRow): AlertRecord => ({
  id: row.id, transition: row.transition as AlertRecord['transition'], condition: JSON.parse(row.condition) as Condition,
  createdAt: row.created_at, attempts: row.attempts, nextAttemptAt: row.next_attempt_at, deliveredAt: row.delivered_at, lastError: row.last_error,
});

function transitionOf(before: Condition | undefined, report: ConditionReport): ConditionTransition {
  if (!before || !before.firing) return report.firing ? 'fired' : 'unchanged';
  if (!report.firing) return 'resolved';
  return before.severity === 'warn' && report.severity === 'error' ? 'escalated' : 'unchanged';
}

/** Health conditions and the alert outbox on one SQLite connection (see `HealthStore`). */
export function sqliteHealth(db: SqliteConnection): HealthStore {
  const sql = {
    get: db.prepare('SELECT * FROM conditions WHERE kind = ? AND subject = ?'),
    upsert: db.prepare(
      'INSERT INTO conditions (kind, subject, firing, severity, message, details, since, updated_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (kind, subject) DO UPDATE SET firing = excluded.firing, severity = excluded.severity, message = excluded.message, ' +
        'details = excluded.details, since = excluded.since, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at',
    ),
    all: db.prepare('SELECT * FROM conditions ORDER BY firing DESC, updated_at DESC'),
    insertAlert: db.prepare('INSERT INTO alert_outbox (transition, condition, created_at, next_attempt_at) VALUES (?, ?, ?, ?)'),
    pending: db.prepare('SELECT * FROM alert_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?'),
    delivered: db.prepare('UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?'),
    failed: db.prepare('UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?'),
    alerts: db.prepare('SELECT * FROM alert_outbox ORDER BY id DESC LIMIT ?'),
  };
  const stored = (kind: string, subject: string) => {
    const row = sql.get.get(kind, subject) as ConditionRow | undefined;
    return row && toCondition(row);
  };
  /** Stores `report` over `before`; inside a transaction. */
  const write = (before: Condition | undefined, report: ConditionReport, at: number) => {
    const transition = transitionOf(before, report);
    if (!before && !report.firing) return { transition, condition: { ...report, since: at, updatedAt: at, resolvedAt: null } };
    const since = transition === 'fired' || !before ? at : before.since;
    const resolvedAt = transition === 'resolved' ? at : report.firing ? null : (before?.resolvedAt ?? null);
    // A condition that stays cleared keeps the message it cleared with.
    const kept = !report.firing && transition === 'unchanged' && before ? before : report;
    const condition: Condition = {
      kind: report.kind, subject: report.subject, firing: report.firing, severity: kept.severity, message: kept.message,
      ...(kept.details ? { details: kept.details } : {}), since, updatedAt: at, resolvedAt,
    };
    sql.upsert.run(condition.kind, condition.subject, condition.firing ? 1 : 0, condition.severity, condition.message,
      condition.details ? JSON.stringify(condition.details) : null, condition.since, condition.updatedAt, condition.resolvedAt);
    if (transition !== 'unchanged') sql.insertAlert.run(transition, JSON.stringify(condition), at, at);
    return { transition, condition };
  };
  return {
    async report(report, at) {
      return inTransaction(db, () => write(stored(report.kind, report.subject), report, at));
    },
    async update(kind, subject, next, at) {
      return inTransaction(db, () => {
        const before = stored(kind, subject);
        const report = next(before);
        return report === undefined ? undefined : write(before, { ...report, kind, subject }, at);
      });
    },
    async list(filter = {}) {
      return (sql.all.all() as ConditionRow[]).map(toCondition)
        .filter((c) => (filter.firing === undefined || c.firing === filter.firing) && (filter.kind === undefined || c.kind === filter.kind));
    },
    async pendingAlerts(now, limit) {
      return (sql.pending.all(now, limit) as AlertRow[]).map(toAlert);
    },
    async markAlert(id, outcome) {
      if (outcome.delivered) sql.delivered.run(outcome.at, id);
      else sql.failed.run(outcome.nextAttemptAt, outcome.error, id);
    },
    async listAlerts(limit) {
      return (sql.alerts.all(limit) as AlertRow[]).map(toAlert);
    },
  };
}
