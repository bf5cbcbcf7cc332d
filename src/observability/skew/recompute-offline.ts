import type { Feature, FeatureView, Source } from '../../definitions/index.js';
import { viewPlan } from '../../processing/feature-plan.js';
import { computePointInTime } from '../../processing/point-in-time.js';
import { viewEventsSql } from '../../processing/view-events-sql.js';
import type { SqlEngine } from '../../storage/engine/sql-engine.js';

let tables = 0;

/** The SQL of a feature's value as JavaScript reads it back: timestamps as epoch ms, float32 elements widened to doubles (as served). */
function readableSql(feature: Feature, typed: string): string {
  if (feature.valueType === 'timestamp') return `epoch_ms(${typed})`;
  return feature.valueType.startsWith('float32[') ? `${typed}::DOUBLE[]` : typed;
}

/**
 * Recomputes features of one view offline at a set of points (entity key, time) over the given
 * lake files, with the training-dataset machinery (`computePointInTime`: one sort and one sweep of
 * the view's events merged with the points, set-based in DuckDB, whatever the number of points).
 * With `asKnown`, each point sees only the events known before it (`known_at < t`, see
 * `computePointInTime`). Returns, per point in the order given, the values of `features` (int64 as numbers or bigints
 * beyond 2^53, timestamps as epoch ms, nulls as null).
 *
 * @example
 * const values = await recomputeOffline(engine, view, source, view.features, files, { keys: ['c1'], times: [t] });
 */
export async function recomputeOffline(engine: SqlEngine, view: FeatureView, source: Source, features: readonly Feature[], files: readonly string[], points: { readonly keys: readonly string[]; readonly times: readonly number[] }, asKnown = false): Promise<unknown[][]> {
  const name = `_sluice_skew_${process.pid}_${tables++}`;
  const [pointsTable, out] = [`${name}_points`, `${name}_out`];
  try {
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${pointsTable} (_pid BIGINT, _key VARCHAR, _t BIGINT)`);
    await engine.appendColumns(pointsTable, [
      { type: 'bigint', values: points.keys.map((_, i) => i) },
      { type: 'text', values: points.keys },
      { type: 'bigint', values: points.times },
    ]);
    const plan = viewPlan(view);
    const typed = await computePointInTime(engine, plan, features, viewEventsSql(plan, source, files), pointsTable, out, 'o', asKnown);
    const columns = features.map((f, i) => `${readableSql(f, typed[i]!)} AS f${i}`);
    const rows = await engine.all<Record<string, unknown>>(`SELECT o._pid::BIGINT AS _pid${columns.map((c) => `, ${c}`).join('')} FROM ${out} o`);
    const values: unknown[][] = new Array(points.keys.length);
    for (const row of rows) values[row._pid as number] = features.map((_, i) => row[`f${i}`] ?? null);
    return values;
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${pointsTable}`);
    await engine.run(`DROP TABLE IF EXISTS ${out}`);
  }
}
