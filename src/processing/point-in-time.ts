import type { Feature, FeatureView } from '../definitions/index.js';
import { ident, type SqlEngine } from '../storage/engine/sql-engine.js';
import { ttlPredicateSql, windowPredicateSql } from '../time/index.js';
import { orderedWindowSums, type SumSpec } from './ordered-sums.js';
import { pointOrderKeySql } from './view-events-sql.js';

/** Features answered by an ASOF join: `field`, and `last` without a window (a windowed `last` rides on the range join). */
const isLookup = (f: Feature): boolean => f.fn === 'field' || (f.fn === 'last' && f.windowMs === undefined);
const isSum = (f: Feature): boolean => f.fn === 'sum' || f.fn === 'avg';
const countColumn = (f: Feature): string => ident(`_n_${f.name}`);

function aggregateSql(feature: Feature, filter: string): string {
  const c = feature.column === undefined ? '' : `e.${ident(feature.column)}`;
  const f = filter === '' ? '' : ` FILTER (WHERE ${filter})`;
  switch (feature.fn) {
    case 'count':
      return `count(${c || 'e._seq'})${f}`;
    case 'avg':
      return `count(${c})${f}`;
    case 'min':
    case 'max':
      return `${feature.fn}(${c})${f}`;
    case 'countDistinct':
      return `count(DISTINCT ${c})${f}`;
    case 'last':
      return `arg_max(${c}, e._ord) FILTER (WHERE ${c} IS NOT NULL${filter === '' ? '' : ` AND ${filter}`})`;
    default:
      throw new Error(`not a set-based aggregation: ${feature.fn}`);
  }
}

/**
 * Computes a view's features at every point of `points(_pid, _key, _t)` into table
 * `out(_key, _t, <feature names>)`, leakage-free by construction (windows from `time/`):
 * - `count`, `min`, `max`, `countDistinct`, windowed `last`: one range join of points to the
 *   events of the longest window `[t - W, t)` (or all `ts < t`), each feature filtered to its own;
 * - `sum`, `avg`: sums added in (ts, seq) order, equal bit for bit to the online path's
 *   (`orderedWindowSums`), divided by the non-null count for `avg`;
 * - unbounded `last` and `field`: ASOF joins on the packed (ts, seq) key, then the ttl check.
 *
 * Returns every table it created (`out` last), for the caller to drop.
 */
export async function computePointInTime(engine: SqlEngine, view: FeatureView, features: readonly Feature[], events: string, points: string, out: string): Promise<string[]> {
  const tables: string[] = [];
  const create = async (table: string, query: string): Promise<void> => {
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${table} AS ${query}`);
    tables.push(table);
  };
  const joins: string[] = [];
  const outputs: string[] = [];
  const specs: SumSpec[] = [];
  const specIndex = (f: Feature): number => {
    let k = specs.findIndex((s) => s.column === f.column && s.windowMs === f.windowMs);
    if (k < 0) k = specs.push({ column: f.column!, windowMs: f.windowMs }) - 1;
    return k;
  };
  const sumOutputs = new Map(features.filter(isSum).map((f) => [f, specIndex(f)] as const));
  if (specs.length > 0) {
    await orderedWindowSums(engine, specs, points, events, `${out}_sums`);
    tables.push(`${out}_sums`);
    joins.push(`LEFT JOIN ${out}_sums os ON os._pid = p._pid`);
  }
  const aggregations = features.filter((f) => !isLookup(f) && f.fn !== 'sum');
  if (aggregations.length > 0) {
    const unbounded = aggregations.some((f) => f.windowMs === undefined);
    const joinWindow = unbounded ? undefined : Math.max(...aggregations.map((f) => f.windowMs!));
    const exprs = aggregations.map((f) => {
      const filter = f.windowMs === joinWindow ? '' : windowPredicateSql('e._ts', 'p._t', f.windowMs);
      return `${aggregateSql(f, filter)} AS ${f.fn === 'avg' ? countColumn(f) : ident(f.name)}`;
    });
    await create(
      `${out}_agg`,
      `SELECT p._key, p._t, ${exprs.join(', ')} FROM ${points} p ` +
        `LEFT JOIN ${events} e ON e._key = p._key AND ${windowPredicateSql('e._ts', 'p._t', joinWindow)} GROUP BY p._key, p._t`,
    );
    joins.push(`LEFT JOIN ${out}_agg a ON a._key = p._key AND a._t = p._t`);
  }
  for (const [i, f] of features.filter((g) => g.fn === 'last' && isLookup(g)).entries()) {
    const c = ident(f.column!);
    await create(
      `${out}_last${i}`,
      `SELECT p._key, p._t, e.${c} AS v FROM ${points} p ` +
        `ASOF LEFT JOIN (SELECT _key, _ts, _ord, ${c} FROM ${events} WHERE ${c} IS NOT NULL) e ON e._key = p._key AND ${pointOrderKeySql('p._t')} > e._ord`,
    );
    joins.push(`LEFT JOIN ${out}_last${i} l${i} ON l${i}._key = p._key AND l${i}._t = p._t`);
  }
  const fields = features.filter((f) => f.fn === 'field');
  if (fields.length > 0) {
    const columns = [...new Set(fields.map((f) => ident(f.column!)))];
    await create(
      `${out}_field`,
      `SELECT p._key, p._t, ${ttlPredicateSql('e._ts', 'p._t', view.ttlMs)} AS _alive, ` +
        `${columns.map((c) => `e.${c}`).join(', ')} FROM ${points} p ` +
        `ASOF LEFT JOIN (SELECT _key, _ts, _ord, ${columns.join(', ')} FROM ${events}) e ON e._key = p._key AND ${pointOrderKeySql('p._t')} > e._ord`,
    );
    joins.push(`LEFT JOIN ${out}_field fl ON fl._key = p._key AND fl._t = p._t`);
  }
  let last = 0;
  for (const f of features) {
    const name = ident(f.name);
    if (f.fn === 'sum') outputs.push(`os.s${sumOutputs.get(f)} AS ${name}`);
    else if (f.fn === 'avg') outputs.push(`os.s${sumOutputs.get(f)} / a.${countColumn(f)} AS ${name}`);
    else if (f.fn === 'field') outputs.push(`CASE WHEN fl._alive THEN fl.${ident(f.column!)} END AS ${name}`);
    else if (isLookup(f)) outputs.push(`l${last++}.v AS ${name}`);
    else outputs.push(`a.${name}`);
  }
  await create(out, `SELECT p._key, p._t, ${outputs.join(', ')} FROM ${points} p ${joins.join(' ')}`);
  return tables;
}
