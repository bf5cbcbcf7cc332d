import type { Feature, FeatureView } from '../definitions/index.js';
import { ident } from '../storage/engine/sql-engine.js';
import { ttlPredicateSql, windowPredicateSql } from '../time/index.js';
import { pointOrderKeySql } from './view-events-sql.js';

/** Features answered by an ASOF join: `field`, and `last` without a window (a windowed `last` rides on the range join). */
const isLookup = (f: Feature): boolean => f.fn === 'field' || (f.fn === 'last' && f.windowMs === undefined);

function aggregateSql(feature: Feature, filter: string): string {
  const c = feature.column === undefined ? '' : `e.${ident(feature.column)}`;
  const f = filter === '' ? '' : ` FILTER (WHERE ${filter})`;
  switch (feature.fn) {
    case 'count':
      return `count(${c || 'e._seq'})${f}`;
    case 'sum':
      return `sum(${c} ORDER BY e._ord)${f}`;
    case 'avg':
      return `(sum(${c} ORDER BY e._ord)${f} / count(${c})${f})`;
    case 'min':
    case 'max':
      return `${feature.fn}(${c})${f}`;
    case 'countDistinct':
      return `count(DISTINCT ${c})${f}`;
    case 'last':
      return `arg_max(${c}, e._ord) FILTER (WHERE ${c} IS NOT NULL${filter === '' ? '' : ` AND ${filter}`})`;
    default:
      throw new Error(`not an aggregation: ${feature.fn}`);
  }
}

/**
 * SQL statements that compute a view's features at every point of `points(_key, _t)` and leave
 * them in table `out(_key, _t, <feature names>)`, leakage-free by construction:
 * - aggregations: one range join of points to events in the longest window `[t - W, t)` (or all
 *   `ts < t`), each feature filtered to its own window; sums run in (ts, seq) order so they equal
 *   the online path's fold bit for bit;
 * - `last` without a window and `field`: ASOF joins on the packed (ts, seq) key (then the ttl
 *   check), which never joins more than one event per point.
 */
export function pointInTimeSql(view: FeatureView, features: readonly Feature[], events: string, points: string, out: string): string[] {
  const statements: string[] = [];
  const joins: string[] = [];
  const outputs: string[] = [];
  const aggregations = features.filter((f) => !isLookup(f));
  if (aggregations.length > 0) {
    const unbounded = aggregations.some((f) => f.windowMs === undefined);
    const joinWindow = unbounded ? undefined : Math.max(...aggregations.map((f) => f.windowMs!));
    const exprs = aggregations.map((f) => {
      const filter = f.windowMs === joinWindow ? '' : windowPredicateSql('e._ts', 'p._t', f.windowMs);
      return `${aggregateSql(f, filter)} AS ${ident(f.name)}`;
    });
    statements.push(
      `CREATE OR REPLACE TEMP TABLE ${out}_agg AS SELECT p._key, p._t, ${exprs.join(', ')} FROM ${points} p ` +
        `LEFT JOIN ${events} e ON e._key = p._key AND ${windowPredicateSql('e._ts', 'p._t', joinWindow)} GROUP BY p._key, p._t`,
    );
    joins.push(`LEFT JOIN ${out}_agg a ON a._key = p._key AND a._t = p._t`);
    outputs.push(...aggregations.map((f) => `a.${ident(f.name)}`));
  }
  features.filter((f) => f.fn === 'last' && isLookup(f)).forEach((f, i) => {
    const c = ident(f.column!);
    statements.push(
      `CREATE OR REPLACE TEMP TABLE ${out}_last${i} AS SELECT p._key, p._t, e.${c} AS v FROM ${points} p ` +
        `ASOF LEFT JOIN (SELECT _key, _ts, _ord, ${c} FROM ${events} WHERE ${c} IS NOT NULL) e ON e._key = p._key AND ${pointOrderKeySql('p._t')} > e._ord`,
    );
    joins.push(`LEFT JOIN ${out}_last${i} l${i} ON l${i}._key = p._key AND l${i}._t = p._t`);
    outputs.push(`l${i}.v AS ${ident(f.name)}`);
  });
  const fields = features.filter((f) => f.fn === 'field');
  if (fields.length > 0) {
    const columns = [...new Set(fields.map((f) => ident(f.column!)))];
    statements.push(
      `CREATE OR REPLACE TEMP TABLE ${out}_field AS SELECT p._key, p._t, ${ttlPredicateSql('e._ts', 'p._t', view.ttlMs)} AS _alive, ` +
        `${columns.map((c) => `e.${c}`).join(', ')} FROM ${points} p ` +
        `ASOF LEFT JOIN (SELECT _key, _ts, _ord, ${columns.join(', ')} FROM ${events}) e ON e._key = p._key AND ${pointOrderKeySql('p._t')} > e._ord`,
    );
    joins.push(`LEFT JOIN ${out}_field fl ON fl._key = p._key AND fl._t = p._t`);
    outputs.push(...fields.map((f) => `CASE WHEN fl._alive THEN fl.${ident(f.column!)} END AS ${ident(f.name)}`));
  }
  statements.push(`CREATE OR REPLACE TEMP TABLE ${out} AS SELECT p._key, p._t, ${outputs.join(', ')} FROM ${points} p ${joins.join(' ')}`);
  return statements;
}

/** Drops the tables `pointInTimeSql` created. */
export function dropPointInTimeSql(out: string): string {
  return [`${out}_agg`, `${out}_field`, out, ...Array.from({ length: 16 }, (_, i) => `${out}_last${i}`)]
    .map((t) => `DROP TABLE IF EXISTS ${t}`)
    .join('; ');
}
