import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal content always serializes the same way. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** A short, stable content hash (sha256, 16 hex digits) of any JSON-like value. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

/** What of a view decides a feature's value (besides the lake's data): the value identity of a feature. */
interface ValueContext {
  readonly joinKeys: readonly string[];
  readonly source: string;
  readonly ttlMs?: number;
  readonly filter?: string;
  readonly derived?: Readonly<Record<string, { readonly type: string; readonly sql: string }>>;
}
interface ValueFeature {
  readonly fn: string;
  readonly column?: string;
  readonly windowMs?: number;
  readonly hopMs?: number;
  readonly n?: number;
  readonly valueType: string;
}

/**
 * A feature's value signature: equal signatures compute equal values from equal data. Names,
 * descriptions and how a duration is written (`24h` or `1d`) are not part of it; a window's hop
 * is (absent for an exact window, so existing signatures stay); the view's ttl is, for `field`
 * features (the only ones it affects).
 *
 * @example
 * featureSignature(view, view.features[0]) === featureSignature(oldView, oldFeature);
 */
export function featureSignature(view: ValueContext, feature: ValueFeature): string {
  return stableStringify({
    // A single key signs as it always has, so existing tables keep their definition hash.
    joinKey: view.joinKeys.length === 1 ? view.joinKeys[0] : view.joinKeys, source: view.source, fn: feature.fn, column: feature.column, windowMs: feature.windowMs,
    hopMs: feature.hopMs, n: feature.n, valueType: feature.valueType, ttlMs: feature.fn === 'field' ? view.ttlMs : undefined,
    // Row transforms (absent without them, so existing signatures stay): the compiled filter, and
    // the compiled expression of a derived column the feature reads.
    filter: view.filter, columnSql: feature.column === undefined ? undefined : view.derived?.[feature.column]?.sql,
  });
}

/**
 * A view's definition hash: it changes exactly when the view's values (or its output names) can
 * change, so a description or a column the view does not read never takes a view offline.
 * Covers the view and feature names, each feature's signature, the source's event-time column and
 * the types of the columns the view reads.
 *
 * @example
 * const hash = viewValueHash(view, source);
 */
export function viewValueHash(
  view: ValueContext & { readonly name: string; readonly features: readonly (ValueFeature & { readonly name: string })[] },
  source: { readonly timestamp: string; readonly schema: Readonly<Record<string, string>> },
  expressionReads: readonly string[] = [],
): string {
  const read = [...view.joinKeys, ...view.features.flatMap((f) => (f.column === undefined ? [] : [f.column]))];
  return contentHash({
    name: view.name,
    timestamp: source.timestamp,
    columns: Object.fromEntries(read.map((c) => [c, source.schema[c] ?? view.derived?.[c]?.type])),
    features: view.features.map((f) => [f.name, featureSignature(view, f)]),
    // The source columns the row transforms read (absent without them, so existing hashes stay).
    expressionColumns: expressionReads.length === 0 ? undefined : Object.fromEntries(expressionReads.map((c) => [c, source.schema[c]])),
  });
}
