import type { SluiceContext } from '../context.js';
import { ConflictError } from '../errors.js';
import type { Project, Source } from '../definitions/index.js';
import { classifiedColumns } from '../compliance/masking/classified-columns.js';
import { typedValueSql } from '../ingest/validate-sql.js';
import { ident, literal } from '../storage/engine/sql-engine.js';
import type { DeadLetter } from '../storage/metadata/metadata-store.js';
import type { QuarantinedBatch } from '../storage/metadata/quality-store.js';
import { dropErasedHeldRows } from '../compliance/purge/purge-quarantine.js';
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
  /**
   * The valid rows, staged as the lake would hold them (absent when there are none): a FROM item
   * of them (`relation`, with the lake's columns), and one staged Parquet file of them all in
   * `_seq` order for the quarantine to keep (`heldFile`).
   */
  readonly staged?: { readonly relation: string; heldFile(): Promise<string> };
  readonly observedColumns?: Readonly<Record<string, string | null>>;
  /**
   * The erasure block-list version the rows were checked against: a batch to quarantine when it
   * has changed is not held (a subject erased meanwhile would stay in quarantine, and come back on
   * release); a ConflictError (`details.blockListChanged`) lets the ingest check its rows again.
   */
  readonly blockListVersion?: number;
}

/**
 * Runs a source's checks on an ingest's valid rows before the commit, reading them as staged
 * (typed and columnar, so the checks' scan does not parse text again), and
 * records them (results, health). When an `error` check fails, the batch is quarantined: the
 * staged rows, as one file, move to the quarantine area instead of the lake, its dead letters are stored, and
 * the run fails with an error naming the checks, so nothing downstream runs on it. Undefined when
 * the source declares no checks.
 *
 * @example
 * const verdict = await gateIngest(ctx, project, source, accepted, deadLetters, { origin: path, contentHash, staged });
 */
export async function gateIngest(ctx: SluiceContext, project: Project, source: Source, accepted: number, deadLetters: readonly DeadLetter[], input: IngestInput): Promise<BatchVerdict | undefined> {
  const engine = await ctx.engine();
  const columns = Object.keys(source.schema).map(ident).join(', ');
  const rows = input.staged === undefined ? typedRowsSql(source, 'ingest_checked') : `SELECT ${columns} FROM ${input.staged.relation}`;
  const verdict = await checkBatch(engine, source, rows, { now: ctx.now(), classified: classifiedColumns(project, source.name), ...(input.observedColumns ? { observedColumns: input.observedColumns } : {}) });
  if (!verdict) return undefined;
  await enforceVerdict(ctx, verdict, async () => {
    if (input.blockListVersion !== undefined && (await ctx.metadata.erasure.blockListVersion()) !== input.blockListVersion) {
      throw new ConflictError('CONFLICT', `source "${source.name}": an erasure request arrived while this batch was checked (its rows were checked against an older block list); nothing was quarantined, run the ingest again`, { details: { blockListChanged: true } });
    }
    if (deadLetters.length > 0) await ctx.metadata.addDeadLetters(deadLetters);
    const staged = input.staged ? await input.staged.heldFile() : await emptyBatch(ctx, source);
    // An erasure between the check above and the hold's record does not see the batch held: its subjects' rows are dropped here.
    const settle = async (held: QuarantinedBatch) => {
      if (input.blockListVersion !== undefined && (await ctx.metadata.erasure.blockListVersion()) !== input.blockListVersion) await dropErasedHeldRows(ctx, project, source, held);
    };
    return { dataset: source.name, origin: input.origin, staged, rows: accepted, contentHash: input.contentHash, settle };
  });
  return verdict;
}

/** A staged file of no rows (a blocked batch with no valid row still has a file in quarantine). */
async function emptyBatch(ctx: SluiceContext, source: Source): Promise<string> {
  const staged = ctx.lake.stagingPath(source.name);
  await (await ctx.engine()).run(`COPY (${typedRowsSql(source, 'ingest_checked')} LIMIT 0) TO ${literal(staged)} (FORMAT PARQUET)`);
  return staged;
}

/**
 * Refuses a file whose content is held in quarantine (an earlier ingest of it failed an error
 * check): ingesting it again would only hold it again. It names the batch and the ways out.
 */
export async function refuseHeldContent(ctx: SluiceContext, source: string, contentHash: string, path: string): Promise<void> {
  const held = (await ctx.metadata.quality.listQuarantine({ status: 'held', dataset: source })).find((b) => b.contentHash === contentHash);
  if (held) {
    // Checked again, it would be held again: only a person's release, drop or --force changes that.
    throw new ConflictError('CONFLICT', `${path}: this content is held in quarantine as batch ${held.id} of "${source}" (it failed ${held.results.filter((r) => !r.passed && r.severity === 'error').map((r) => `"${r.check}"`).join(', ')}); "sluice quarantine release ${held.id}" commits it, "sluice quarantine drop ${held.id}" discards it, "sluice ingest ${source} ${path} --force" checks it again`, { details: { quarantineId: held.id }, retryable: false });
  }
}
