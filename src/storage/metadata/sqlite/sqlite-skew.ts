import type { FeatureSkew, SkewStore, StoredFeatureSkew } from '../skew-store.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const SKEW_SCHEMA = `
CREATE TABLE IF NOT EXISTS skew_results (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, service TEXT NOT NULL, feature TEXT NOT NULL, at INTEGER NOT NULL,
  compared INTEGER NOT NULL, mismatches INTEGER NOT NULL, mismatch_rate REAL NOT NULL, result TEXT NOT NULL, UNIQUE (run_id, service, feature));
CREATE INDEX IF NOT EXISTS skew_results_feature ON skew_results (service, feature, at);
`;

interface SkewRow {
  run_id: string; at: number; result: string;
}

const toStored = (row: SkewRow): StoredFeatureSkew => ({ ...(JSON.parse(row.result) as FeatureSkew), runId: row.run_id, at: row.at });

/** Skew job results on one SQLite connection (see `SkewStore`). */
export function sqliteSkew(db: SqliteConnection): SkewStore {
  const sql = {
    remove: db.prepare('DELETE FROM skew_results WHERE run_id = ?'),
    insert: db.prepare('INSERT INTO skew_results (run_id, service, feature, at, compared, mismatches, mismatch_rate, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    latest: db.prepare(
      'SELECT run_id, at, result FROM skew_results r WHERE seq = (SELECT seq FROM skew_results o WHERE o.service = r.service AND o.feature = r.feature ORDER BY at DESC, seq DESC LIMIT 1) ORDER BY service, feature',
    ),
    list: db.prepare('SELECT run_id, at, result FROM skew_results WHERE (? IS NULL OR service = ?) AND (? IS NULL OR feature = ?) ORDER BY at DESC, seq DESC LIMIT ?'),
  };
  return {
    async record(run) {
      inTransaction(db, () => {
        sql.remove.run(run.runId);
        for (const f of run.features) sql.insert.run(run.runId, f.service, f.feature, run.at, f.compared, f.mismatches, f.mismatchRate, JSON.stringify(f));
      });
    },
    async latest() {
      return (sql.latest.all() as SkewRow[]).map(toStored);
    },
    async list(filter) {
      return (sql.list.all(filter.service ?? null, filter.service ?? null, filter.feature ?? null, filter.feature ?? null, filter.limit) as SkewRow[]).map(toStored);
    },
  };
}
