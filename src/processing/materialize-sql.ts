import type { Feature, FeatureView } from '../definitions/index.js';
import { ident } from '../storage/engine/sql-engine.js';
import { eventColumns, isWindowed } from './entity-state.js';

/** The base aggregate columns of one feature; the query's WHERE already keeps events before the horizon. */
function baseSql(feature: Feature, i: number): string {
  const c = feature.column === undefined ? undefined : ident(feature.column);
  const nonNull = c === undefined || feature.fn === 'field' ? '' : ` FILTER (WHERE ${c} IS NOT NULL)`;
  const parts = [`max(_ts)${nonNull} AS b${i}_ts`];
  switch (feature.fn) {
    case 'count':
      parts.push(`count(${c ?? '_seq'}) AS b${i}_n`);
      break;
    case 'sum':
    case 'avg':
      // Unbounded sums only: windowed ones never reach the base. Added in (ts, seq) order.
      parts.push(`sum(${c} ORDER BY _ord) AS b${i}_sum`, `count(${c}) AS b${i}_n`);
      break;
    case 'min':
    case 'max':
      parts.push(`${feature.fn}(${c}) AS b${i}_value`);
      break;
    case 'countDistinct':
      parts.push(`list(DISTINCT ${c})${nonNull} AS b${i}_distinct`);
      break;
    case 'last':
      parts.push(`arg_max(${c}, _ord)${nonNull} AS b${i}_value`);
      break;
    case 'field':
      parts.push(`arg_max({'v': ${c}}, _ord).v AS b${i}_value`);
      break;
  }
  return parts.join(', ');
}

/**
 * The base aggregates of a view's unwindowed features, per entity, over the events before
 * `horizon` (see `EntityState`): one set-based query, `undefined` when every feature is windowed.
 */
export function baseAggregatesSql(view: FeatureView, events: string, horizon: number): string | undefined {
  const before = `_ts < ${horizon}`;
  const base = view.features.flatMap((f, i) => (isWindowed(f) ? [] : [baseSql(f, i)]));
  return base.length === 0 ? undefined : `SELECT _key, ${base.join(', ')} FROM ${events} WHERE ${before} GROUP BY _key`;
}

/** The retained events of a view (at or after `horizon`), sorted by entity then (ts, seq), for streaming. */
export function retainedEventsSql(view: FeatureView, events: string, horizon: number): string {
  return `SELECT _key, _ts::DOUBLE, ${['', ...eventColumns(view).map(ident)].join(', ').slice(2)} FROM ${events} WHERE _ts >= ${horizon} ORDER BY _key, _ord`;
}
