/**
 * A brute-force reference for feature values, written from the semantics in docs/semantics.md
 * and nothing else: for each (entity, t), scan every event. Shares no code with the platform.
 */
export interface RefEvent {
  readonly key: string;
  readonly ts: number;
  /** Arrival order: later ingested is larger. */
  readonly order: number;
  readonly values: Record<string, string | number | boolean | null>;
}

export interface RefFeature {
  readonly fn: 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last' | 'countDistinct' | 'field';
  readonly column?: string;
  readonly windowMs?: number;
  readonly ttlMs?: number;
}

export function referenceValue(events: readonly RefEvent[], key: string, t: number, f: RefFeature): string | number | boolean | null {
  const visible = events
    .filter((e) => e.key === key && e.ts < t && (f.windowMs === undefined || e.ts >= t - f.windowMs))
    .sort((a, b) => a.ts - b.ts || a.order - b.order);
  if (f.fn === 'field') {
    const latest = visible.at(-1);
    if (!latest || (f.ttlMs !== undefined && latest.ts < t - f.ttlMs)) return null;
    return latest.values[f.column!] ?? null;
  }
  if (f.fn === 'count' && f.column === undefined) return visible.length;
  const values = visible.map((e) => e.values[f.column!] ?? null).filter((v): v is string | number | boolean => v !== null);
  switch (f.fn) {
    case 'count':
      return values.length;
    case 'countDistinct':
      return new Set(values).size;
    case 'sum':
    case 'avg': {
      if (values.length === 0) return null;
      let total = 0;
      values.forEach((v, i) => (total = i === 0 ? (v as number) : total + (v as number)));
      return f.fn === 'sum' ? total : total / values.length;
    }
    case 'min':
      return values.length === 0 ? null : values.reduce((a, b) => (b < a ? b : a));
    case 'max':
      return values.length === 0 ? null : values.reduce((a, b) => (b > a ? b : a));
    case 'last':
      return values.at(-1) ?? null;
  }
  return null;
}
