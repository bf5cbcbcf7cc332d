import type { FeatureView } from '../definitions/index.js';
import { ident } from '../storage/engine/sql-engine.js';

/**
 * The one home of how a view's row transforms run: the compiled SQL of its `filter` and derived
 * columns (see `compileRowTransforms`) evaluated by DuckDB over a relation of typed source rows.
 * The batch path (materialize, dataset builds) and the incremental paths (push, connectors,
 * applied snapshots) all evaluate the same SQL text in the same engine, so their values agree bit
 * for bit; a second evaluator in JavaScript could not promise that (string, date and float
 * semantics would have to be re-implemented exactly).
 */

/** Whether a view has row transforms. */
export function hasRowTransforms(view: FeatureView): boolean {
  return view.filter !== undefined || view.derived !== undefined;
}

/** The rows of `relation` (typed source rows) that a view reads: its filter applied and its derived columns added. */
export function viewRowsSql(view: FeatureView, relation: string): string {
  if (!hasRowTransforms(view)) return relation;
  const derived = Object.entries(view.derived ?? {}).map(([name, column]) => `, ${column.sql} AS ${ident(name)}`);
  return `SELECT *${derived.join('')} FROM (${relation})${view.filter === undefined ? '' : ` WHERE ${view.filter}`}`;
}

/** The distinct expressions (filters and derived columns) of some views, each with the type its value has. */
export function rowExpressions(views: readonly FeatureView[]): { sql: string; type: string }[] {
  const out = new Map<string, string>();
  for (const view of views) {
    if (view.filter !== undefined) out.set(view.filter, 'bool');
    for (const column of Object.values(view.derived ?? {})) out.set(column.sql, column.type);
  }
  return [...out].map(([sql, type]) => ({ sql, type }));
}
