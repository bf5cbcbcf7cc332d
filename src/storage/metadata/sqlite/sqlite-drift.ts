import type { DriftResult, DriftStore } from '../drift-store.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const DRIFT_SCHEMA = `
CREATE TABLE IF NOT EXISTS drift_profiles (key TEXT PRIMARY KEY, profile TEXT NOT NULL, saved_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS drift_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, feature TEXT NOT NULL, metric TEXT NOT NULL, score REAL NOT NULL,
  warn REAL NOT NULL, error REAL NOT NULL, severity TEXT NOT NULL, reference_count INTEGER NOT NULL, current_count INTEGER NOT NULL,
  details TEXT, computed_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS drift_results_subject ON drift_results (subject, feature, metric, computed_at);
`;

interface ResultRow {
  id: number; subject: string; feature: string; metric: string; score: number; warn: number; error: number; severity: string;
  reference_count: number; current_count: number; details: string | null; computed_at: number;
}

const toResult = (row: ResultRow): DriftResult => ({
  subject: row.subject, feature: row.feature, metric: row.metric as DriftResult['metric'], score: row.score, warn: row.warn, error: row.error,
  severity: row.severity as DriftResult['severity'], referenceCount: row.reference_count, currentCount: row.current_count,
  ...(row.details === null ? {} : { details: JSON.parse(row.details) as Record<string, unknown> }), computedAt: row.computed_at,
});

/** Drift results and profiles on one SQLite connection (see `DriftStore`). */
export function sqliteDrift(db: SqliteConnection): DriftStore {
  const sql = {
    saveProfile: db.prepare('INSERT INTO drift_profiles (key, profile, saved_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET profile = excluded.profile, saved_at = excluded.saved_at'),
    profile: db.prepare('SELECT profile, saved_at FROM drift_profiles WHERE key = ?'),
    insert: db.prepare(
      'INSERT INTO drift_results (subject, feature, metric, score, warn, error, severity, reference_count, current_count, details, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    // The newest row per (subject, feature, metric): a row with no newer one.
    latest: db.prepare(
      'SELECT * FROM drift_results r WHERE (? IS NULL OR subject = ?) AND NOT EXISTS (SELECT 1 FROM drift_results n WHERE n.subject = r.subject AND n.feature = r.feature ' +
        'AND n.metric = r.metric AND (n.computed_at > r.computed_at OR (n.computed_at = r.computed_at AND n.id > r.id))) ORDER BY subject, feature, metric',
    ),
    history: db.prepare('SELECT * FROM drift_results WHERE subject = ? ORDER BY computed_at DESC, id DESC LIMIT ?'),
  };
  return {
    async saveProfile(key, profile, at) {
      sql.saveProfile.run(key, JSON.stringify(profile), at);
    },
    async profile(key) {
      const row = sql.profile.get(key) as { profile: string; saved_at: number } | undefined;
      return row && { profile: JSON.parse(row.profile) as unknown, savedAt: row.saved_at };
    },
    async record(results) {
      inTransaction(db, () => {
        for (const r of results) {
          sql.insert.run(r.subject, r.feature, r.metric, r.score, r.warn, r.error, r.severity, r.referenceCount, r.currentCount,
            r.details === undefined ? null : JSON.stringify(r.details), r.computedAt);
        }
      });
    },
    async latest(filter = {}) {
      const subject = filter.subject ?? null;
      return (sql.latest.all(subject, subject) as ResultRow[]).map(toResult);
    },
    async history(subject, limit) {
      return (sql.history.all(subject, limit) as ResultRow[]).map(toResult);
    },
  };
}
