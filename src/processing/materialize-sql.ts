import type { Feature, FeatureView } from '../definitions/index.js';
import { ident } from '../storage/engine/sql-engine.js';
import { eventColumns, isWindowed } from './entity-state.js';

function baseSql(feature: Feature, i: number, before: string): string {
  const c = feature.column === undefined ? undefined : ident(feature.column);
  const nonNull = c === undefined ? before : `${before} AND ${c} IS NOT NULL`;
  const parts = [`max(_ts) FILTER (WHERE ${feature.fn === 'field' ? before : nonNull}) AS b${i}_ts`];
  switch (feature.fn) {
    case 'count':
      parts.push(`count(${c ?? '_seq'}) FILTER (WHERE ${before}) AS b${i}_n`);
      break;
    case 'sum':
    case 'avg':
      parts.push(`sum(${c} ORDER BY _ord) FILTER (WHERE ${before}) AS b${i}_sum`, `count(${c}) FILTER (WHERE ${before}) AS b${i}_n`);
      break;
    case 'min':
    case 'max':
      parts.push(`${feature.fn}(${c}) FILTER (WHERE ${before}) AS b${i}_value`);
      break;
    case 'countDistinct':
      parts.push(`list(DISTINCT ${c}) FILTER (WHERE ${nonNull}) AS b${i}_distinct`);
      break;
    case 'last':
      parts.push(`arg_max(${c}, _ord) FILTER (WHERE ${nonNull}) AS b${i}_value`);
      break;
    case 'field':
      parts.push(`arg_max({'v': ${c}}, _ord) FILTER (WHERE ${before}).v AS b${i}_value`);
      break;
  }
  return parts.join(', ');
}

/**
 * One set-based query that builds every entity's online state for a view (see `EntityState`):
 * per entity, the base aggregates of unwindowed features over events before `horizon`, and the
 * retained events at or after it, sorted by (ts, seq), as a list of structs.
 */
export function materializeSql(view: FeatureView, events: string, horizon: number): string {
  const before = `_ts < ${horizon}`;
  const base = view.features.flatMap((f, i) => (isWindowed(f) ? [] : [baseSql(f, i, before)]));
  const tuple = ['_ts', '_seq', ...eventColumns(view).map(ident)].map((c, i) => `'c${i}': ${c}`).join(', ');
  const retained = `list({${tuple}} ORDER BY _ord) FILTER (WHERE _ts >= ${horizon}) AS events`;
  return `SELECT _key, ${[...base, retained].join(', ')} FROM ${events} GROUP BY _key`;
}
