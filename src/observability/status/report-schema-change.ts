import type { SluiceContext } from '../../context.js';
import type { Source } from '../../definitions/index.js';
import type { Condition, ConditionReport } from '../../storage/metadata/health-store.js';

/** The condition kind of a source whose batches no longer fit its declared schema. */
export const SCHEMA_CHANGED = 'schema_changed';

/** How a batch's columns differ from the source's declared schema; both empty when they fit. */
export interface SchemaChange {
  /** Declared columns the batch lacks (the batch was refused). */
  readonly missing: readonly string[];
  /** Declared columns none of whose values in the batch has the declared type (every row was dead-lettered). */
  readonly retyped: readonly string[];
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What an ingest's outcome says about the source's schema upstream: the columns an input lacked
 * (a refused file: the error carries `details.missingColumns`), or the columns whose values all
 * failed their type check in a batch that kept no row (its dead-letter reasons). Undefined when
 * the outcome says nothing about the schema (another error).
 *
 * @example
 * schemaChangeOf(source, { accepted: 0, reasons: ['column "amount": "abc" is not a float64'] }); // { missing: [], retyped: ['amount'] }
 */
export function schemaChangeOf(source: Source, outcome: { error: unknown } | { accepted: number; reasons: readonly string[] }): SchemaChange | undefined {
  if ('error' in outcome) {
    const missing = (outcome.error as { details?: { missingColumns?: unknown } } | undefined)?.details?.missingColumns;
    return Array.isArray(missing) ? { missing: missing.map(String), retyped: [] } : undefined;
  }
  if (outcome.accepted > 0 || outcome.reasons.length === 0) return { missing: [], retyped: [] };
  const retyped = Object.keys(source.schema).filter((column) => {
    const wrongType = new RegExp(`column "${escaped(column)}": .* is (not an? |outside the int64 range)`);
    return outcome.reasons.every((reason) => wrongType.test(reason));
  });
  return { missing: [], retyped };
}

/**
 * The way in a batch came through, which alone ends the part of `schema_changed` it fired:
 * `ingest` (files and tables, `sluice ingest`), a streamed batch's origin (`push`, a connector's
 * kind), or `DROPPED_COLUMNS_WAY`.
 */
export type SchemaChangeWay = string;
/** The way in of declared columns a connector saw dropped: ended only by removing them from the schema (`endUndeclaredDroppedColumns`). */
export const DROPPED_COLUMNS_WAY = 'dropped-columns';
/** The way in of a condition recorded before ways were (its details have no `ways`): any way in's fitting batch ends it. */
const ANY_WAY = '*';

/** What one way in says about a source's schema: its part of the source's `schema_changed` condition. */
export interface SchemaChangePart {
  readonly severity: 'warn' | 'error';
  readonly message: string;
  readonly input: string;
  readonly missing: readonly string[];
  readonly retyped: readonly string[];
  /** Columns whose values are written as null meanwhile (a connector saw them dropped). */
  readonly nulled?: readonly string[];
  /** When this way in last fired it (epoch ms). */
  readonly at: number;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** The parts of a stored `schema_changed` condition, by way in; none when it is not firing. */
function partsOf(condition: Condition | undefined): Record<SchemaChangeWay, SchemaChangePart> {
  if (condition === undefined || !condition.firing) return {};
  const ways = condition.details?.ways;
  if (ways !== null && typeof ways === 'object') return { ...(ways as Record<string, SchemaChangePart>) };
  const nulled = strings(condition.details?.nulled);
  return {
    [nulled.length > 0 ? DROPPED_COLUMNS_WAY : ANY_WAY]: {
      severity: condition.severity, message: condition.message, input: String(condition.details?.input ?? ''), at: condition.updatedAt,
      missing: strings(condition.details?.missing), retyped: strings(condition.details?.retyped), ...(nulled.length > 0 ? { nulled } : {}),
    },
  };
}

/** The firing parts of a source's `schema_changed` condition, by way in. */
export async function schemaChangeParts(ctx: SluiceContext, source: string): Promise<Record<SchemaChangeWay, SchemaChangePart>> {
  return partsOf((await ctx.metadata.health.list({ firing: true, kind: SCHEMA_CHANGED })).find((c) => c.subject === `source:${source}`));
}

/** The condition `parts` make (see `recordSchemaChangePart`); `ended` and `input` say what ended the last one. */
function conditionOf(parts: Record<SchemaChangeWay, SchemaChangePart>, ended: string, input: string): Omit<ConditionReport, 'kind' | 'subject'> {
  const all = Object.entries(parts).sort(([, a], [, b]) => b.at - a.at);
  const newest = all[0]?.[1];
  const union = (pick: (p: SchemaChangePart) => readonly string[] | undefined) => [...new Set(all.flatMap(([, p]) => pick(p) ?? []))];
  const nulled = union((p) => p.nulled);
  return {
    firing: newest !== undefined,
    severity: all.some(([, p]) => p.severity === 'error') ? 'error' : (newest?.severity ?? 'error'),
    message: newest === undefined ? ended : `${newest.message}${all.length > 1 ? ` (also through ${all.slice(1).map(([w]) => w).join(', ')}: see details.ways)` : ''}`,
    details: newest === undefined
      ? { input, missing: [], retyped: [], ways: {} }
      : { input: newest.input, missing: union((p) => p.missing), retyped: union((p) => p.retyped), ...(nulled.length > 0 ? { nulled } : {}), ways: parts },
  };
}

/**
 * Changes the parts of a source's `schema_changed` condition as `edit` says, from the parts
 * stored, in one store transaction (`HealthStore.update`): two processes changing parts at once
 * (a file ingest and a connector) each keep theirs. `edit` changes `parts` in place and returns
 * the message and input of an end, or undefined to change nothing. True when it changed them.
 */
async function editSchemaChangeParts(ctx: SluiceContext, source: string, edit: (parts: Record<SchemaChangeWay, SchemaChangePart>) => { ended: string; input: string } | undefined): Promise<boolean> {
  const changed = await ctx.metadata.health.update(SCHEMA_CHANGED, `source:${source}`, (current) => {
    const parts = partsOf(current);
    const ending = edit(parts);
    return ending === undefined ? undefined : conditionOf(parts, ending.ended, ending.input);
  }, ctx.now());
  return changed !== undefined;
}

/**
 * Sets (or with `part` undefined, ends) one way in's part of a source's `schema_changed`
 * condition (subject `source:<name>`): it fires while any way in's part does, at `error` if any
 * part is an error, with the newest part's message; `details` hold the union of the parts'
 * `missing`, `retyped` and `nulled` columns and `ways`, every part. A part is ended only by its
 * own way in, so a fitting file does not end what a streamed batch fired, nor the reverse.
 * `ended` is the message once no part is left. The parts are read and written in one
 * transaction, so processes reporting at once never drop each other's part.
 *
 * @example
 * await recordSchemaChangePart(ctx, 'payments', 'push', undefined, 'source "payments": the batch of 2 event(s) from push fits the declared schema');
 */
export async function recordSchemaChangePart(ctx: SluiceContext, source: string, way: SchemaChangeWay, part: Omit<SchemaChangePart, 'at'> | undefined, ended: string): Promise<void> {
  const now = ctx.now();
  await editSchemaChangeParts(ctx, source, (parts) => {
    delete parts[ANY_WAY];
    if (part === undefined) delete parts[way];
    else parts[way] = { ...part, at: now };
    return { ended, input: part?.input ?? '' };
  });
}

/**
 * Ends the part of columns a connector saw dropped (`DROPPED_COLUMNS_WAY`) of each source whose
 * schema declares none of them any more; the number ended.
 */
export async function endUndeclaredDroppedColumns(ctx: SluiceContext, declared: (source: string, column: string) => boolean): Promise<number> {
  let ended = 0;
  for (const condition of await ctx.metadata.health.list({ firing: true, kind: SCHEMA_CHANGED })) {
    const source = condition.subject.slice('source:'.length);
    const done = await editSchemaChangeParts(ctx, source, (parts) => {
      const dropped = parts[DROPPED_COLUMNS_WAY] === undefined ? undefined : (parts[DROPPED_COLUMNS_WAY].nulled ?? []);
      if (dropped === undefined || dropped.some((c) => declared(source, c))) return undefined;
      delete parts[DROPPED_COLUMNS_WAY];
      delete parts[ANY_WAY];
      return { ended: `column(s) ${dropped.join(', ')} of source "${source}" is no longer declared: its condition is cleared`, input: '' };
    });
    if (done) ended++;
  }
  return ended;
}

/**
 * Reports one way in's part of the `schema_changed` condition of a source (see
 * `recordSchemaChangePart`) from what one batch showed (see `schemaChangeOf`): firing while
 * batches through that way lack declared columns or carry another type, ended by the next batch
 * through it that fits. Nothing when `change` is undefined.
 *
 * @example
 * await reportSchemaChange(ctx, source, 'exports/day-12.csv', schemaChangeOf(source, { error }), 'ingest');
 */
export async function reportSchemaChange(ctx: SluiceContext, source: Source, input: string, change: SchemaChange | undefined, way: SchemaChangeWay): Promise<void> {
  if (change === undefined) return;
  const quoted = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(', ');
  const problems = [
    ...(change.missing.length > 0 ? [`lacks column(s) ${quoted(change.missing)}`] : []),
    ...(change.retyped.length > 0 ? [`has no value of the declared type in column(s) ${change.retyped.map((c) => `"${c}" (${source.schema[c]})`).join(', ')}`] : []),
  ];
  await recordSchemaChangePart(ctx, source.name, way, problems.length === 0 ? undefined : {
    severity: 'error', input, missing: change.missing, retyped: change.retyped,
    message: `source "${source.name}": the batch ${input} ${problems.join(' and ')}: the upstream schema changed; fix the export, or change the source's schema (sluice plan shows what a change means)`,
  }, `source "${source.name}": the batch ${input} fits the declared schema`);
}
