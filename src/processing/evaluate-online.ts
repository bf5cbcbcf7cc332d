import type { Feature, FeatureView } from '../definitions/index.js';
import { eventRange, windowAt, withinTtl } from '../time/index.js';
import { eventColumns, type EntityState, type EventColumn, type Scalar } from './entity-state.js';

/** How a served value came about. */
export type ValueStatus = 'PRESENT' | 'NOT_FOUND' | 'OUTSIDE_TTL' | 'NULL' | 'STALE' | 'NOT_MATERIALIZED';

/** The value of a feature when there is nothing to aggregate: 0 for counts, null otherwise. */
export function emptyValue(feature: Feature): Scalar {
  return feature.fn === 'count' || feature.fn === 'countDistinct' ? 0 : null;
}

interface FeaturePlan {
  readonly feature: Feature;
  /** Index into `state.columns`, -1 for `count()`. */
  readonly column: number;
  /** Index into `state.base`. */
  readonly baseIndex: number;
  readonly bool: boolean;
}

/** A view's selected features, resolved once to column and base positions (the serving hot path). */
export interface EvaluationPlan {
  readonly view: FeatureView;
  readonly features: readonly FeaturePlan[];
}

export function planEvaluation(view: FeatureView, features: readonly Feature[]): EvaluationPlan {
  const columns = eventColumns(view);
  return {
    view,
    features: features.map((feature) => ({
      feature,
      column: feature.column === undefined ? -1 : columns.indexOf(feature.column),
      baseIndex: view.features.indexOf(feature),
      bool: feature.valueType === 'bool',
    })),
  };
}

function valueAt(column: EventColumn, i: number, bool: boolean): Scalar {
  if (column instanceof Float64Array) {
    const v = column[i]!;
    return Number.isNaN(v) ? null : bool ? v === 1 : v;
  }
  const code = column.codes[i]!;
  return code < 0 ? null : column.dict[code]!;
}

function isNull(column: EventColumn, i: number): boolean {
  return column instanceof Float64Array ? Number.isNaN(column[i]!) : column.codes[i]! < 0;
}

function extreme(min: boolean, column: EventColumn, start: number, end: number, initial: Scalar, bool: boolean): Scalar {
  if (column instanceof Float64Array && !bool) {
    let best = initial === null ? NaN : (initial as number);
    for (let i = start; i < end; i++) {
      const v = column[i]!;
      if (!Number.isNaN(v) && (Number.isNaN(best) || (min ? v < best : v > best))) best = v;
    }
    return Number.isNaN(best) ? null : best;
  }
  let best = initial;
  for (let i = start; i < end; i++) {
    const v = valueAt(column, i, bool);
    if (v !== null && (best === null || (min ? v < best : v > best))) best = v;
  }
  return best;
}

function distinctCount(column: EventColumn, start: number, end: number, base: readonly Scalar[] | undefined, bool: boolean): number {
  if (!(column instanceof Float64Array) && base === undefined) {
    // Dictionary codes are small integers: mark them instead of hashing strings.
    const seen = new Uint8Array(column.dict.length);
    let n = 0;
    for (let i = start; i < end; i++) {
      const code = column.codes[i]!;
      if (code >= 0 && seen[code] === 0) {
        seen[code] = 1;
        n++;
      }
    }
    return n;
  }
  const seen = new Set<Scalar>(base ?? []);
  for (let i = start; i < end; i++) {
    const v = valueAt(column, i, bool);
    if (v !== null) seen.add(v);
  }
  return seen.size;
}

/** Where evaluated values go: arrays indexed by output position. */
export interface ValueSink {
  readonly values: Scalar[];
  readonly status: ValueStatus[];
  readonly ageMs: (number | null)[];
}

/**
 * Computes the selected features of one view for one entity at time `t` from its online state,
 * with the same arithmetic as the batch SQL: sums are added one by one in (ts, seq) order.
 * Requires `t >= state.horizon + window` for windowed features (true for "now" after
 * materializing). Writes feature `f` of the plan to position `positions[f]` of `sink`.
 */
export function evaluateViewInto(plan: EvaluationPlan, state: EntityState | undefined, t: number, sink: ValueSink, positions: readonly number[]): void {
  const set = (f: number, value: Scalar, status: ValueStatus, ageMs: number | null): void => {
    const at = positions[f]!;
    sink.values[at] = value;
    sink.status[at] = status;
    sink.ageMs[at] = ageMs;
  };
  if (state === undefined) {
    for (let f = 0; f < plan.features.length; f++) set(f, emptyValue(plan.features[f]!.feature), 'NOT_FOUND', null);
    return;
  }
  const ts = state.ts;
  // Features of one window share its range; consecutive features often share a window, so keep the last.
  let lastWindow: number | undefined = -1;
  let range: [number, number] = [0, 0];
  for (let f = 0; f < plan.features.length; f++) {
    const p = plan.features[f]!;
    const { fn, windowMs } = p.feature;
    if (windowMs !== lastWindow) [lastWindow, range] = [windowMs, eventRange(ts, windowAt(t, windowMs))];
    const [start, end] = range;
    const base = windowMs === undefined ? state.base[p.baseIndex] ?? null : null;
    const column = p.column < 0 ? undefined : state.columns[p.column]!;
    if (fn === 'field') {
      const has = end > start;
      const latestTs = has ? ts[end - 1]! : base?.ts;
      if (latestTs === undefined) set(f, null, 'NOT_FOUND', null);
      else if (!withinTtl(latestTs, t, plan.view.ttlMs)) set(f, null, 'OUTSIDE_TTL', t - latestTs);
      else {
        const value = has ? valueAt(column!, end - 1, p.bool) : base!.value;
        set(f, value, value === null ? 'NULL' : 'PRESENT', t - latestTs);
      }
      continue;
    }
    // The newest contributing event: the last non-null in range, else the base's.
    let newest = -1;
    if (column === undefined) newest = end > start ? end - 1 : -1;
    else for (let i = end - 1; i >= start; i--) if (!isNull(column, i)) { newest = i; break; }
    const ageMs = newest >= 0 ? t - ts[newest]! : base ? t - base.ts : null;
    let value: Scalar;
    switch (fn) {
      case 'count': {
        let n = base?.n ?? 0;
        if (column === undefined) n += end - start;
        else for (let i = start; i < end; i++) if (!isNull(column, i)) n++;
        value = n;
        break;
      }
      case 'sum':
      case 'avg': {
        const values = column as Float64Array;
        let total: number | null = base?.sum ?? null;
        let n = base?.n ?? 0;
        for (let i = start; i < end; i++) {
          const v = values[i]!;
          if (Number.isNaN(v)) continue;
          total = total === null ? v : total + v;
          n++;
        }
        value = total === null ? null : fn === 'sum' ? total : total / n;
        break;
      }
      case 'min':
      case 'max':
        value = extreme(fn === 'min', column!, start, end, base?.value ?? null, p.bool);
        break;
      case 'countDistinct':
        value = distinctCount(column!, start, end, base?.distinct, p.bool);
        break;
      case 'last':
        value = newest >= 0 ? valueAt(column!, newest, p.bool) : base?.value ?? null;
        break;
      default:
        value = null;
    }
    set(f, value, value === null ? 'NULL' : 'PRESENT', ageMs);
  }
}
