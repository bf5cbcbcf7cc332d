import type { FeatureView, Project } from '../definitions/index.js';
import { classifiedFeatureColumns } from '../compliance/masking/classified-columns.js';
import { storageType } from '../ingest/validate-sql.js';
import type { ViewPlan } from '../processing/feature-plan.js';
import { computePointInTime } from '../processing/point-in-time.js';
import { ident, type SqlEngine } from '../storage/engine/sql-engine.js';
import { checkBatch, type BatchVerdict } from './run-checks.js';

const POINTS = 'quality_view_points';
const VALUES = 'quality_view_values';

/**
 * Evaluates a feature view's checks on the rows `materialize` is about to write: per entity
 * with events, its features as of `asOf` (computed offline by the point-in-time sweep from the
 * same events, so before the online table is replaced) and, for a single join key, the key.
 * Undefined when the view declares no checks (nothing is computed).
 *
 * @example
 * const verdict = await checkViewRows(engine, project, view, plan, eventsSql, asOf, ctx.now());
 */
export async function checkViewRows(engine: SqlEngine, project: Project, view: FeatureView, plan: ViewPlan, events: string, asOf: number, now: number): Promise<BatchVerdict | undefined> {
  if ((view.checks ?? []).length === 0) return undefined;
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${POINTS} AS SELECT (row_number() OVER (ORDER BY _key))::DOUBLE AS _pid, _key, ${Math.trunc(asOf)}::BIGINT AS _t FROM (SELECT DISTINCT _key FROM (${events}) WHERE _ts < ${Math.trunc(asOf)})`);
  try {
    const typed = await computePointInTime(engine, plan, view.features, events, POINTS, VALUES, 'v');
    const key = view.joinKeys.length === 1 ? [`TRY_CAST(p._key AS ${storageType(view.columnTypes[view.joinKeys[0]!]!)}) AS ${ident(view.joinKeys[0]!)}`] : [];
    const schema = { ...(key.length > 0 ? { [view.joinKeys[0]!]: view.columnTypes[view.joinKeys[0]!]! } : {}), ...Object.fromEntries(view.features.map((f) => [f.name, f.valueType])) };
    const relation = `SELECT ${[...key, ...view.features.map((f, i) => `${typed[i]} AS ${ident(f.name)}`)].join(', ')} FROM ${POINTS} p LEFT JOIN ${VALUES} v ON v._pid = p._pid`;
    return await checkBatch(engine, { name: view.name, schema, checks: view.checks! }, relation, { now, classified: classifiedFeatureColumns(project, view.name) });
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${POINTS}; DROP TABLE IF EXISTS ${VALUES}`);
  }
}
