import type { HolderGone, Lease } from '../metadata-store.js';
import { runLeaseName } from '../metadata-store.js';
import type { RunKeyRecord, ScheduleStore } from '../schedule-store.js';
import { storedStart, toHolder, toLease, type LeaseRow } from './sqlite-schema.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const SCHEDULES_SCHEMA = `
CREATE TABLE IF NOT EXISTS run_keys (
  key TEXT PRIMARY KEY, job TEXT NOT NULL, trigger TEXT NOT NULL, scheduled_for INTEGER, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, last_run_id TEXT, holder_id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
  claimed_at INTEGER NOT NULL, finished_at INTEGER, error TEXT, started TEXT);
CREATE INDEX IF NOT EXISTS run_keys_job ON run_keys (job, claimed_at);
CREATE TABLE IF NOT EXISTS schedule_cursors (schedule TEXT PRIMARY KEY, checked_until INTEGER NOT NULL);
`;

interface RunKeyRow {
  key: string; job: string; trigger: string; scheduled_for: number | null; status: string; attempts: number; last_run_id: string | null;
  holder_id: string; host: string; pid: number; started: string | null; claimed_at: number; finished_at: number | null; error: string | null;
}

const toRecord = (row: RunKeyRow): RunKeyRecord => ({
  key: row.key, job: row.job, trigger: row.trigger as RunKeyRecord['trigger'], scheduledFor: row.scheduled_for,
  status: row.status as RunKeyRecord['status'], attempts: row.attempts, lastRunId: row.last_run_id,
  holder: toHolder(row), claimedAt: row.claimed_at, finishedAt: row.finished_at, error: row.error,
});

/** Run keys and schedule cursors on one SQLite connection (see `ScheduleStore`). */
export function sqliteSchedules(db: SqliteConnection): ScheduleStore {
  const sql = {
    get: db.prepare('SELECT * FROM run_keys WHERE key = ?'),
    insert: db.prepare('INSERT INTO run_keys (key, job, trigger, scheduled_for, status, holder_id, host, pid, started, claimed_at) VALUES (?, ?, ?, ?, \'running\', ?, ?, ?, ?, ?)'),
    reclaim: db.prepare('UPDATE run_keys SET status = \'running\', holder_id = ?, host = ?, pid = ?, started = ?, claimed_at = ?, finished_at = NULL, error = NULL WHERE key = ?'),
    attempt: db.prepare('UPDATE run_keys SET attempts = attempts + 1, last_run_id = ? WHERE key = ? RETURNING attempts'),
    finish: db.prepare('UPDATE run_keys SET status = ?, finished_at = ?, error = ? WHERE key = ?'),
    byJob: db.prepare('SELECT * FROM run_keys WHERE job = ? ORDER BY claimed_at DESC, key DESC LIMIT ?'),
    byPrefix: db.prepare('SELECT * FROM run_keys WHERE substr(key, 1, length(?)) = ? ORDER BY claimed_at DESC, key DESC LIMIT ?'),
    all: db.prepare('SELECT * FROM run_keys ORDER BY claimed_at DESC, key DESC LIMIT ?'),
    lease: db.prepare('SELECT * FROM leases WHERE name = ?'),
    runStatus: db.prepare('SELECT status FROM runs WHERE id = ?'),
    cursor: db.prepare('SELECT checked_until FROM schedule_cursors WHERE schedule = ?'),
    advance: db.prepare('INSERT INTO schedule_cursors (schedule, checked_until) VALUES (?, ?) ON CONFLICT (schedule) DO UPDATE SET checked_until = max(checked_until, excluded.checked_until)'),
  };
  /**
   * Whether the claimer of a running key is gone: while its last run runs, that run's lease is;
   * otherwise (before a first run, between attempts, or between finishing a run and settling the
   * key, when no run lease exists) its own process is.
   */
  const claimerGone = (row: RunKeyRow, isGone: HolderGone): boolean => {
    const running = row.last_run_id !== null && (sql.runStatus.get(row.last_run_id) as { status: string } | undefined)?.status === 'running';
    if (!running) {
      const holder: Lease = { name: row.key, holder: toHolder(row), acquiredAt: row.claimed_at, renewedAt: row.claimed_at, expiresAt: Number.MAX_SAFE_INTEGER };
      return isGone(holder);
    }
    const lease = sql.lease.get(runLeaseName(row.last_run_id!)) as LeaseRow | undefined;
    return lease === undefined || isGone(toLease(lease));
  };
  return {
    async claim(claim, at, options = {}) {
      return inTransaction(db, () => {
        const row = sql.get.get(claim.key) as RunKeyRow | undefined;
        const { id, host, pid } = claim.holder;
        const started = storedStart(claim.holder);
        if (row === undefined) {
          sql.insert.run(claim.key, claim.job, claim.trigger, claim.scheduledFor ?? null, id, host, pid, started, at);
        } else {
          const reclaim = options.reclaim;
          const again = reclaim !== undefined && (row.status === 'failed' || (options.rerun === true && row.status === 'succeeded') || (row.status === 'running' && claimerGone(row, reclaim)));
          if (!again) return { claimed: false, record: toRecord(row) };
          sql.reclaim.run(id, host, pid, started, at, claim.key);
        }
        return { claimed: true, record: toRecord(sql.get.get(claim.key) as RunKeyRow) };
      });
    },
    async startAttempt(key, runId) {
      const row = sql.attempt.get(runId, key) as { attempts: number } | undefined;
      if (row === undefined) throw new Error(`run key "${key}" was never claimed`);
      return row.attempts;
    },
    async finish(key, outcome, at) {
      sql.finish.run(outcome.status, at, outcome.error ?? null, key);
    },
    async get(key) {
      const row = sql.get.get(key) as RunKeyRow | undefined;
      return row && toRecord(row);
    },
    async list({ job, prefix, limit = 100 }) {
      const rows = job !== undefined ? sql.byJob.all(job, limit) : prefix !== undefined ? sql.byPrefix.all(prefix, prefix, limit) : sql.all.all(limit);
      return (rows as RunKeyRow[]).map(toRecord);
    },
    async cursor(schedule) {
      return (sql.cursor.get(schedule) as { checked_until: number } | undefined)?.checked_until;
    },
    async advanceCursor(schedule, to) {
      sql.advance.run(schedule, to);
    },
  };
}
