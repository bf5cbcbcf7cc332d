/**
 * A brute-force reference for feature values, written from the semantics in docs/semantics.md
 * and nothing else: for each (entity, t), scan every event. Shares no code with the platform:
 * its exact sums use BigInt rationals and a nearest-neighbour search, its string order compares
 * code points, its int64 values are BigInts.
 */
export type RefValue = string | number | bigint | boolean | null | readonly RefValue[];

export interface RefEvent {
  readonly key: string;
  readonly ts: number;
  /** Arrival order: later ingested is larger. */
  readonly order: number;
  readonly values: Record<string, RefValue>;
}

export interface RefFeature {
  readonly fn: 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last' | 'countDistinct' | 'field' | 'lastN';
  readonly column?: string;
  /** `lastN`: how many of the newest values, newest first. */
  readonly n?: number;
  readonly windowMs?: number;
  /** A hopped window: the window starts at t - windowMs rounded down to a multiple of hopMs. */
  readonly hopMs?: number;
  readonly ttlMs?: number;
}

const SCALE = 1100n;

/** A finite double or an integer as an exact integer count of 2^-1100. */
function toUnits(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v << SCALE;
  let m = v;
  let e = 0n;
  while (!Number.isInteger(m)) {
    m *= 2;
    e++;
  }
  return BigInt(m) << (SCALE - e);
}

function neighbour(x: number, up: boolean): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  view.setBigUint64(0, (x > 0) === up ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

function evenMantissa(x: number): boolean {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return (view.getUint32(4) & 1) === 0;
}

/** The sum of the values, exact, rounded once to the nearest double (ties to even); +0 for zero. */
export function exactSum(values: readonly (number | bigint)[]): number {
  const total = values.reduce<bigint>((s, v) => s + toUnits(v), 0n);
  if (total === 0n) return 0;
  const magnitude = total < 0n ? -total : total;
  // At or beyond MAX_VALUE + half an ulp (2^970), IEEE rounds to infinity.
  if (magnitude >= toUnits(Number.MAX_VALUE) + (1n << (970n + SCALE))) return total < 0n ? -Infinity : Infinity;
  const shift = BigInt(Math.max(0, magnitude.toString(2).length - 64));
  const e = Number(shift) - Number(SCALE);
  const approx = Number(magnitude >> shift) * 2 ** Math.max(e, -1000) * 2 ** (e - Math.max(e, -1000)) * (total < 0n ? -1 : 1);
  let best = approx;
  let bestError = -1n;
  for (const candidate of [neighbour(approx, false), approx, neighbour(approx, true)].filter(Number.isFinite)) {
    const diff = toUnits(candidate) - total;
    const error = diff < 0n ? -diff : diff;
    if (bestError < 0n || error < bestError || (error === bestError && evenMantissa(candidate))) {
      best = candidate;
      bestError = error;
    }
  }
  return best;
}

function less(a: RefValue, b: RefValue): boolean {
  if (typeof a === 'string' && typeof b === 'string') {
    const x = [...a].map((c) => c.codePointAt(0)!);
    const y = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
    return x.length < y.length;
  }
  return (a as number) < (b as number);
}

/** int64 values as BigInts compare and dedupe by value: normalise small ones to numbers. */
function normal(v: RefValue): RefValue {
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** The first instant of a window at t: exact integer arithmetic, floored toward -Infinity. */
function windowStart(t: number, f: RefFeature): number {
  if (f.windowMs === undefined) return -Infinity;
  if (f.hopMs === undefined) return t - f.windowMs;
  const from = BigInt(t - f.windowMs);
  const hop = BigInt(f.hopMs);
  let hops = from / hop; // BigInt division truncates toward zero
  if (hops * hop > from) hops -= 1n;
  return Number(hops * hop);
}

export function referenceValue(events: readonly RefEvent[], key: string, t: number, f: RefFeature): RefValue {
  const start = windowStart(t, f);
  const visible = events
    .filter((e) => e.key === key && e.ts < t && e.ts >= start)
    .sort((a, b) => a.ts - b.ts || a.order - b.order);
  if (f.fn === 'field') {
    const latest = visible.at(-1);
    if (!latest || (f.ttlMs !== undefined && latest.ts < t - f.ttlMs)) return null;
    return normal(latest.values[f.column!] ?? null);
  }
  if (f.fn === 'count' && f.column === undefined) return visible.length;
  const values = visible.map((e) => normal(e.values[f.column!] ?? null)).filter((v): v is Exclude<RefValue, null> => v !== null);
  switch (f.fn) {
    case 'count':
      return values.length;
    case 'countDistinct':
      return new Set(values.map((v) => (typeof v === 'bigint' ? `big:${v}` : v === 0 ? 0 : v))).size;
    case 'sum':
    case 'avg': {
      if (values.length === 0) return null;
      const total = exactSum(values.map((v) => (typeof v === 'boolean' ? Number(v) : (v as number | bigint))));
      return f.fn === 'sum' ? total : total / values.length;
    }
    case 'min':
      return values.length === 0 ? null : values.reduce((a, b) => (less(b, a) ? b : a));
    case 'max':
      return values.length === 0 ? null : values.reduce((a, b) => (less(a, b) ? b : a));
    case 'last':
      return values.at(-1) ?? null;
    case 'lastN':
      return values.slice(-f.n!).reverse();
  }
  return null;
}
