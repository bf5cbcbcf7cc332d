import type { MaterializedView, MaterializedViewStore } from '../materialized-view-store.js';
import type { SqliteConnection } from './sqlite-driver.js';

export const MATERIALIZED_VIEWS_SCHEMA = `
CREATE TABLE IF NOT EXISTS materialized_views (
  view TEXT PRIMARY KEY, view_hash TEXT NOT NULL, materialized_at INTEGER NOT NULL, run_id TEXT);
`;

interface MaterializedViewRow {
  view: string; view_hash: string; materialized_at: number; run_id: string | null;
}

/** The last materialization of each view on one SQLite connection (see `MaterializedViewStore`). */
export function sqliteMaterializedViews(db: SqliteConnection): MaterializedViewStore {
  const sql = {
    upsert: db.prepare('INSERT INTO materialized_views (view, view_hash, materialized_at, run_id) VALUES (?, ?, ?, ?) ON CONFLICT (view) DO UPDATE SET view_hash = excluded.view_hash, materialized_at = excluded.materialized_at, run_id = excluded.run_id'),
    insert: db.prepare('INSERT INTO materialized_views (view, view_hash, materialized_at, run_id) VALUES (?, ?, ?, ?) ON CONFLICT (view) DO NOTHING'),
    list: db.prepare('SELECT view, view_hash, materialized_at, run_id FROM materialized_views ORDER BY view'),
  };
  return {
    async record(m, options) {
      (options?.ifAbsent ? sql.insert : sql.upsert).run(m.view, m.viewHash, m.materializedAt, m.runId);
    },
    async list() {
      return (sql.list.all() as MaterializedViewRow[]).map((r): MaterializedView => ({ view: r.view, viewHash: r.view_hash, materializedAt: r.materialized_at, runId: r.run_id }));
    },
  };
}
