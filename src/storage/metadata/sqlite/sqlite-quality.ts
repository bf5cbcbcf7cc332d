import { ConflictError, NotFoundError } from '../../../errors.js';
import type { TransformLineage } from '../metadata-store.js';
import type { CheckOutcome, QualityStore, QuarantinedBatch, StoredCheckResult } from '../quality-store.js';
import { inTransaction, type SqliteConnection } from './sqlite-driver.js';

export const QUALITY_SCHEMA = `
CREATE TABLE IF NOT EXISTS check_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT, dataset TEXT NOT NULL, check_name TEXT NOT NULL, passed INTEGER NOT NULL,
  evaluated_at INTEGER NOT NULL, run_id TEXT, quarantine_id INTEGER, result TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS check_results_latest ON check_results (dataset, check_name, evaluated_at, id);
CREATE TABLE IF NOT EXISTS quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT, dataset TEXT NOT NULL, origin TEXT NOT NULL, file TEXT NOT NULL, rows INTEGER NOT NULL,
  content_hash TEXT NOT NULL, run_id TEXT, results TEXT NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL,
  resolved_at INTEGER, resolved_by TEXT, snapshot TEXT, lineage TEXT);
`;

interface ResultRow { evaluated_at: number; run_id: string | null; quarantine_id: number | null; result: string }
interface QuarantineRow {
  id: number; dataset: string; origin: string; file: string; rows: number; content_hash: string; run_id: string | null; results: string;
  created_at: number; status: string; resolved_at: number | null; resolved_by: string | null; snapshot: string | null; lineage: string | null;
}

const toResult = (row: ResultRow): StoredCheckResult => ({ ...(JSON.parse(row.result) as CheckOutcome), evaluatedAt: row.evaluated_at, runId: row.run_id, quarantineId: row.quarantine_id });
const toBatch = (row: QuarantineRow): QuarantinedBatch => ({
  id: row.id, dataset: row.dataset, origin: row.origin, file: row.file, rows: row.rows, contentHash: row.content_hash, runId: row.run_id,
  results: JSON.parse(row.results) as CheckOutcome[], createdAt: row.created_at, status: row.status as QuarantinedBatch['status'],
  resolvedAt: row.resolved_at, resolvedBy: row.resolved_by, snapshot: row.snapshot,
  ...(row.lineage === null ? {} : { lineage: JSON.parse(row.lineage) as TransformLineage }),
});

/** Check results and quarantined batches on one SQLite connection (see `QualityStore`). */
export function sqliteQuality(db: SqliteConnection): QualityStore {
  const sql = {
    insertResult: db.prepare('INSERT INTO check_results (dataset, check_name, passed, evaluated_at, run_id, quarantine_id, result) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    latest: db.prepare(`SELECT r.* FROM check_results r WHERE r.id = (SELECT id FROM check_results l WHERE l.dataset = r.dataset AND l.check_name = r.check_name
      ORDER BY evaluated_at DESC, id DESC LIMIT 1) ORDER BY r.dataset, r.check_name`),
    totals: db.prepare(`SELECT dataset, check_name, CASE WHEN passed = 1 THEN 'passed' ELSE 'failed' END AS outcome, count(*) AS n FROM check_results GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
    insertBatch: db.prepare(`INSERT INTO quarantine (dataset, origin, file, rows, content_hash, run_id, results, created_at, status, lineage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held', ?) RETURNING *`),
    batch: db.prepare('SELECT * FROM quarantine WHERE id = ?'),
    batches: db.prepare('SELECT * FROM quarantine ORDER BY id DESC'),
    resolve: db.prepare('UPDATE quarantine SET status = ?, resolved_at = ?, resolved_by = ?, snapshot = ? WHERE id = ?'),
  };
  const batch = (id: number): QuarantinedBatch | undefined => {
    const row = sql.batch.get(id) as QuarantineRow | undefined;
    return row && toBatch(row);
  };
  return {
    async recordResults(results, context) {
      inTransaction(db, () => {
        for (const r of results) {
          sql.insertResult.run(r.dataset, r.check, r.passed ? 1 : 0, context.evaluatedAt, context.runId ?? null, context.quarantineId ?? null, JSON.stringify(r));
        }
      });
    },
    async latestResults(filter = {}) {
      return (sql.latest.all() as ResultRow[]).map(toResult)
        .filter((r) => (filter.dataset === undefined || r.dataset === filter.dataset) && (filter.failed === undefined || r.passed !== filter.failed));
    },
    async resultTotals() {
      return (sql.totals.all() as { dataset: string; check_name: string; outcome: 'passed' | 'failed'; n: number }[])
        .map((r) => ({ dataset: r.dataset, check: r.check_name, outcome: r.outcome, count: r.n }));
    },
    async hold(b) {
      return toBatch(sql.insertBatch.get(b.dataset, b.origin, b.file, b.rows, b.contentHash, b.runId, JSON.stringify(b.results), b.createdAt, b.lineage === undefined ? null : JSON.stringify(b.lineage)) as QuarantineRow);
    },
    async quarantined(id) {
      return batch(id);
    },
    async listQuarantine(filter = {}) {
      return (sql.batches.all() as QuarantineRow[]).map(toBatch)
        .filter((b) => (filter.status === undefined || b.status === filter.status) && (filter.dataset === undefined || b.dataset === filter.dataset));
    },
    async resolve(id, outcome) {
      return inTransaction(db, () => {
        const held = batch(id);
        if (!held) throw new NotFoundError('NOT_FOUND', `quarantined batch ${id} does not exist; "sluice quarantine list" shows the held ones`);
        if (held.status !== 'held') throw new ConflictError('CONFLICT', `quarantined batch ${id} was already ${held.status} by ${held.resolvedBy} at ${new Date(held.resolvedAt!).toISOString()}`);
        sql.resolve.run(outcome.status, outcome.at, outcome.by, outcome.snapshot ?? null, id);
        return batch(id)!;
      });
    },
  };
}
