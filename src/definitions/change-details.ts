import { featureSignature, stableStringify } from './hash.js';
import type { Entity, Feature, FeatureService, FeatureView, RequestView, Source, Transform } from './types.js';

/** What changes inside one definition, what users see change, and what cannot be applied. */
export interface ChangeDetails {
  readonly details: string[];
  readonly consequences: string[];
  readonly refused: string[];
}

const shown = (value: unknown): string => (value === undefined ? 'none' : typeof value === 'string' ? value : stableStringify(value));

function property(details: string[], what: string, before: unknown, after: unknown): void {
  if (stableStringify(before ?? null) !== stableStringify(after ?? null)) details.push(`${what} ${shown(before)} -> ${shown(after)}`);
}

function describeChanged(details: string[], before: { description?: string | undefined }, after: { description?: string | undefined }): void {
  if (before.description !== after.description) details.push('description changed');
  describeCompliance(details, before as { classify?: unknown }, after as { classify?: unknown });
}

/** Classification and region are outside every hash; a plan still says how they change, and apply records them. */
function describeCompliance(details: string[], before: { classify?: unknown; region?: string }, after: { classify?: unknown; region?: string }): void {
  const classes = (c: unknown): Record<string, unknown> => (c === undefined || c === null ? {} : ['level', 'tags', 'declassified'].some((k) => k in (c as object)) ? { '': c } : (c as Record<string, unknown>));
  const [was, now] = [classes(before.classify), classes(after.classify)];
  for (const key of new Set([...Object.keys(was), ...Object.keys(now)])) property(details, key === '' ? 'classification' : `classification of ${key}`, was[key], now[key]);
  property(details, 'region', before.region, after.region);
}

/** How a plan names a source's properties. */
const SOURCE_PROPERTY = {
  kind: 'kind', path: 'path', eventId: 'eventId', key: 'key', allowedLatenessMs: 'allowed lateness (ms)', maxClockSkewMs: 'max clock skew (ms)',
  freshness: 'freshness', retention: 'retention',
} as const;

/**
 * A source's columns may grow (older files read a new column as null), never shrink or change
 * type, and its event-time column stays: files already committed to the lake hold the old shape.
 *
 * @example
 * sourceDetails(before, after).refused; // ['source "txns": column "amount" cannot be removed: ...']
 */
export function sourceDetails(before: Source, after: Source): ChangeDetails {
  const out: ChangeDetails = { details: [], consequences: [], refused: [] };
  const where = `source "${after.name}"`;
  for (const [column, type] of Object.entries(after.schema)) {
    const old = before.schema[column];
    if (old === undefined) out.details.push(`column ${column} (${type}) added; files ingested before read it as null`);
    else if (old !== type) {
      out.refused.push(`${where}: column "${column}" cannot change type from ${old} to ${type}: files already in the lake hold ${old} values. Keep "${column}" as it is and add a new column (e.g. "${column}_${type.replace(/[^a-z0-9]+/g, '_').replace(/_$/, '')}"), or create a new source`);
    }
  }
  for (const column of Object.keys(before.schema)) {
    if (!(column in after.schema)) {
      out.refused.push(`${where}: column "${column}" cannot be removed: files already in the lake hold it. To stop using it, keep it in the schema and stop reading it in the views; for a source without it, create a new source`);
    }
  }
  if (before.timestamp !== after.timestamp) {
    out.refused.push(`${where}: the timestamp column cannot change from "${before.timestamp}" to "${after.timestamp}": every committed snapshot is ordered by it. Keep "${before.timestamp}", or create a new source with "${after.timestamp}" as its timestamp`);
  }
  // Named with their values as written: a plan that says only "definition changed" hides what it applies.
  for (const key of ['kind', 'path', 'eventId', 'key', 'allowedLatenessMs', 'maxClockSkewMs', 'freshness', 'retention'] as const) property(out.details, SOURCE_PROPERTY[key], before[key], after[key]);
  // Long compiled settings: named, not shown.
  for (const key of ['connector', 'checks'] as const) if (stableStringify(before[key] ?? null) !== stableStringify(after[key] ?? null)) out.details.push(`${key} changed`);
  describeChanged(out.details, before, after);
  return out;
}

function featureDetails(view: string, before: FeatureView, after: FeatureView, out: ChangeDetails): void {
  const next = new Map(after.features.map((f) => [f.name, f]));
  const added = after.features.filter((f) => !before.features.some((b) => b.name === f.name));
  const column = (name: string) => `dataset column ${view}__${name}`;
  for (const old of before.features) {
    const now = next.get(old.name);
    if (now === undefined) {
      const renamed = added.findIndex((f) => featureSignature(after, f) === featureSignature(before, old));
      if (renamed >= 0) {
        const [to] = added.splice(renamed, 1) as [Feature];
        out.details.push(`feature ${old.name} renamed to ${to.name}`);
        out.consequences.push(`${column(old.name)} renamed to ${view}__${to.name}`);
      } else {
        out.details.push(`feature ${old.name} removed`);
        out.consequences.push(`${column(old.name)} removed`);
      }
      continue;
    }
    for (const key of ['fn', 'column', 'window', 'hop', 'n', 'valueType'] as const) property(out.details, `feature ${old.name} ${key}`, old[key], now[key]);
  }
  for (const f of added) out.details.push(`feature ${f.name} added`);
}

/**
 * Which features change and how (renamed, removed, a window, a hop or a function changed).
 *
 * @example
 * viewDetails(before, after).details; // ['feature amount_sum_24h window 24h -> 48h']
 */
export function viewDetails(before: FeatureView, after: FeatureView): ChangeDetails {
  const out: ChangeDetails = { details: [], consequences: [], refused: [] };
  for (const key of ['entity', 'joinKeys', 'source', 'ttl'] as const) property(out.details, key, before[key], after[key]);
  featureDetails(after.name, before, after, out);
  // Row transforms change every feature's input rows: shown as compiled, the text the hash covers.
  property(out.details, 'filter', before.filter, after.filter);
  for (const name of new Set([...Object.keys(before.derived ?? {}), ...Object.keys(after.derived ?? {})])) {
    const [was, now] = [before.derived?.[name], after.derived?.[name]];
    if (was === undefined || now === undefined) out.details.push(`derived column ${name} ${was === undefined ? `added: ${now!.sql}` : 'removed'}`);
    else property(out.details, `derived column ${name}`, was.type === now.type ? was.sql : was, was.type === now.type ? now.sql : now);
  }
  describeChanged(out.details, before, after);
  return out;
}

/** An entity's join key or description changed. */
export function entityDetails(before: Entity, after: Entity): ChangeDetails {
  const out: ChangeDetails = { details: [], consequences: [], refused: [] };
  property(out.details, 'joinKeys', before.joinKeys, after.joinKeys);
  describeChanged(out.details, before, after);
  return out;
}

/** Features a service gained or lost; a lost one is a dataset column removed for its users. */
export function serviceDetails(before: FeatureService, after: FeatureService): ChangeDetails {
  const out: ChangeDetails = { details: [], consequences: [], refused: [] };
  const names = (s: FeatureService) => s.features.map((f) => `${f.view}:${f.feature}`);
  for (const f of names(after)) if (!names(before).includes(f)) out.details.push(`feature ${f} added`);
  for (const f of names(before)) {
    if (!names(after).includes(f)) {
      out.details.push(`feature ${f} removed`);
      out.consequences.push(`dataset column ${f.replace(':', '__')} removed from service "${after.name}"`);
    }
  }
  describeChanged(out.details, before, after);
  return out;
}

/** What of a transform changed: inputs, SQL, mode (its output columns show as its source's change). */
export function transformDetails(before: Transform, after: Transform): ChangeDetails {
  const out: ChangeDetails = { details: [], consequences: [], refused: [] };
  property(out.details, 'inputs', before.inputs, after.inputs);
  if (before.sql !== after.sql) out.details.push('sql changed');
  else if (stableStringify([before.columnInputs ?? null, before.rowInputs ?? null]) !== stableStringify([after.columnInputs ?? null, after.rowInputs ?? null])) out.details.push('column lineage read from DuckDB\'s parser');
  property(out.details, 'incremental', before.incremental ?? false, after.incremental ?? false);
  if (before.hash !== after.hash) out.consequences.push(`its table changes at the next "sluice transform run ${after.name}"`);
  describeChanged(out.details, before, after);
  return out;
}

/**
 * A request view's changes: request fields, inputs, and per feature its type or function (by the
 * hash of its source text). Its values are computed when asked for, so nothing is rematerialized.
 *
 * @example
 * requestViewDetails(before, after).details; // ['feature ratio function changed']
 */
export function requestViewDetails(before: RequestView, after: RequestView): ChangeDetails {
  const out: ChangeDetails = { details: [], consequences: [], refused: [] };
  property(out.details, 'request', before.request, after.request);
  property(out.details, 'inputs', before.inputs, after.inputs);
  for (const feature of after.features) {
    const old = before.features.find((f) => f.name === feature.name);
    if (!old) out.details.push(`feature ${feature.name} added`);
    else {
      property(out.details, `feature ${feature.name} type`, old.valueType, feature.valueType);
      if (old.sourceHash !== feature.sourceHash) out.details.push(`feature ${feature.name} function changed`);
    }
  }
  for (const old of before.features) {
    if (!after.features.some((f) => f.name === old.name)) {
      out.details.push(`feature ${old.name} removed`);
      out.consequences.push(`dataset column ${after.name}__${old.name} removed`);
    }
  }
  describeChanged(out.details, before, after);
  return out;
}
