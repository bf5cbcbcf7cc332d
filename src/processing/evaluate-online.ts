import type { Feature, FeatureView } from '../definitions/index.js';
import { windowAt, withinTtl } from '../time/index.js';
import { eventColumns, type BaseAggregate, type EntityState, type EventTuple, type Scalar } from './entity-state.js';

/** How a served value came about. */
export type ValueStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL' | 'NULL';

export interface FeatureValue {
  readonly value: Scalar;
  readonly status: ValueStatus;
  /** Milliseconds from the newest event the value used to `t`; null when it used none. */
  readonly ageMs: number | null;
}

/** The value of a feature when there is nothing to aggregate: 0 for counts, null otherwise. */
export function emptyValue(feature: Feature): Scalar {
  return feature.fn === 'count' || feature.fn === 'countDistinct' ? 0 : null;
}

function compare(a: Scalar, b: Scalar): number {
  return a! < b! ? -1 : a! > b! ? 1 : 0;
}

/**
 * Computes every feature of one view for one entity at time `t` from its online state.
 * `t` must be at or after `state.horizon` (guaranteed for "now" after materialization).
 * The arithmetic matches the batch SQL exactly: sums are added in (ts, seq) order.
 */
export function evaluateView(view: FeatureView, features: readonly Feature[], state: EntityState | undefined, t: number): FeatureValue[] {
  if (state === undefined) return features.map((f) => ({ value: emptyValue(f), status: 'NOT_FOUND', ageMs: null }));
  const columns = eventColumns(view);
  return features.map((feature) => {
    const index = view.features.indexOf(feature);
    const column = feature.column === undefined ? -1 : 2 + columns.indexOf(feature.column);
    return evaluateFeature(feature, column, state.base[index] ?? null, state.events, t, view.ttlMs);
  });
}

function evaluateFeature(
  feature: Feature,
  column: number,
  base: BaseAggregate | null,
  events: readonly EventTuple[],
  t: number,
  ttlMs: number | undefined,
): FeatureValue {
  const window = windowAt(t, feature.windowMs);
  const windowed = feature.windowMs !== undefined;
  let n = 0;
  let total: number | null = null;
  let extreme: Scalar = null;
  let latest: Scalar = null;
  let latestTs = -Infinity;
  let found = false;
  let newest = -Infinity;
  const distinct = feature.fn === 'countDistinct' ? new Set<Scalar>() : undefined;
  if (!windowed && base !== null && base.ts !== null) {
    [n, total, extreme, latest, latestTs, found, newest] = [base.n, base.sum, base.value, base.value, base.ts, true, base.ts];
    for (const v of base.distinct ?? []) distinct?.add(v);
  }
  for (const event of events) {
    const ts = event[0] as number;
    if (ts >= window.end) break;
    if (ts < window.start) continue;
    const value = column < 0 ? 0 : (event[column] as Scalar);
    if (feature.fn === 'field') {
      [latest, latestTs, found] = [value, ts, true];
      continue;
    }
    if (value === null || value === undefined) continue;
    newest = ts;
    switch (feature.fn) {
      case 'count':
        n++;
        break;
      case 'sum':
      case 'avg':
        total = total === null ? (value as number) : total + (value as number);
        n++;
        break;
      case 'min':
        if (extreme === null || compare(value, extreme) < 0) extreme = value;
        break;
      case 'max':
        if (extreme === null || compare(value, extreme) > 0) extreme = value;
        break;
      case 'countDistinct':
        distinct!.add(value);
        break;
      case 'last':
        [latest, found] = [value, true];
        break;
    }
  }
  if (feature.fn === 'field') {
    if (!found) return { value: null, status: 'NOT_FOUND', ageMs: null };
    if (!withinTtl(latestTs, t, ttlMs)) return { value: null, status: 'OUTSIDE_TTL', ageMs: t - latestTs };
    return { value: latest, status: latest === null ? 'NULL' : 'PRESENT', ageMs: t - latestTs };
  }
  const ageMs = newest === -Infinity ? null : t - newest;
  let value: Scalar;
  switch (feature.fn) {
    case 'count':
      value = n;
      break;
    case 'sum':
      value = total;
      break;
    case 'avg':
      value = total === null || n === 0 ? null : total / n;
      break;
    case 'countDistinct':
      value = distinct!.size;
      break;
    case 'last':
      value = found ? latest : null;
      break;
    default:
      value = extreme;
  }
  return { value, status: value === null ? 'NULL' : 'PRESENT', ageMs };
}
