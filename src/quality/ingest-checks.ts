import type { SluiceContext } from '../context.js';
import type { Source } from '../definitions/index.js';
import { stageLakeFile } from '../ingest/commit-ingest.js';
import { typedValueSql, type KnownAt } from '../ingest/validate-sql.js';
import { ident } from '../storage/engine/sql-engine.js';
import type { DeadLetter } from '../storage/metadata/metadata-store.js';
import { enforceVerdict } from './quarantine.js';
import { checkBatch, type BatchVerdict } from './run-checks.js';

/** The valid rows of an ingest's checked table (text columns) in their typed lake values: what checks see. */
export function typedRowsSql(source: Source, table: string): string {
  return `SELECT ${Object.entries(source.schema).map(([c, type]) => `${typedValueSql(c, type)} AS ${ident(c)}`).join(', ')} FROM ${table} WHERE _reason = ''`;
}

/** What an ingest knows about its input when it checks it. */
export interface IngestInput {
  readonly origin: string;
  readonly contentHash: string;
  readonly knownAt: KnownAt;
  readonly observedColumns?: Readonly<Record<string, string | null>>;
}

/**
 * Runs a source's checks on an ingest's valid rows (in `ingest_checked`), before the commit,
 * and records them (results, health). When an `error` check fails, the batch is quarantined: its
 * rows are written as the lake would hold them, but under the quarantine area, its dead letters
 * are stored, and the run fails with an error naming the checks, so nothing downstream runs on it.
 * Undefined when the source declares no checks.
 *
 * @example
 * const verdict = await gateIngest(ctx, source, accepted, deadLetters, { origin: path, contentHash, knownAt });
 */
export async function gateIngest(ctx: SluiceContext, source: Source, accepted: number, deadLetters: readonly DeadLetter[], input: IngestInput): Promise<BatchVerdict | undefined> {
  const engine = await ctx.engine();
  const verdict = await checkBatch(engine, source, typedRowsSql(source, 'ingest_checked'), { now: ctx.now(), ...(input.observedColumns ? { observedColumns: input.observedColumns } : {}) });
  if (!verdict) return undefined;
  await enforceVerdict(ctx, verdict, async () => {
    const { staged } = await stageLakeFile(ctx, source, accepted, input.knownAt);
    if (deadLetters.length > 0) await ctx.metadata.addDeadLetters(deadLetters);
    return { dataset: source.name, origin: input.origin, staged, rows: accepted, contentHash: input.contentHash };
  });
  return verdict;
}
