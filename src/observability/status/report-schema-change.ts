import type { SluiceContext } from '../../context.js';
import type { Source } from '../../definitions/index.js';

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
 * Reports the `schema_changed` condition of a source (subject `source:<name>`) from what one
 * batch showed (see `schemaChangeOf`): firing while batches lack declared columns or carry
 * another type, cleared by the next batch that fits. Nothing when `change` is undefined.
 *
 * @example
 * await reportSchemaChange(ctx, source, 'exports/day-12.csv', schemaChangeOf(source, { error }));
 */
export async function reportSchemaChange(ctx: SluiceContext, source: Source, input: string, change: SchemaChange | undefined): Promise<void> {
  if (change === undefined) return;
  const quoted = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(', ');
  const problems = [
    ...(change.missing.length > 0 ? [`lacks column(s) ${quoted(change.missing)}`] : []),
    ...(change.retyped.length > 0 ? [`has no value of the declared type in column(s) ${change.retyped.map((c) => `"${c}" (${source.schema[c]})`).join(', ')}`] : []),
  ];
  const firing = problems.length > 0;
  await ctx.metadata.health.report({
    kind: SCHEMA_CHANGED, subject: `source:${source.name}`, firing, severity: 'error',
    message: firing
      ? `source "${source.name}": the batch ${input} ${problems.join(' and ')}: the upstream schema changed; fix the export, or change the source's schema (sluice plan shows what a change means)`
      : `source "${source.name}": the batch ${input} fits the declared schema`,
    details: { input, missing: change.missing, retyped: change.retyped },
  }, ctx.now());
}
