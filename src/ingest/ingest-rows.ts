import { isStreamed, type Project, type Source } from '../definitions/index.js';
import type { SluiceContext } from '../context.js';
import type { DeadLetter, IngestCommit } from '../storage/metadata/metadata-store.js';
import { ident, literal } from '../storage/engine/sql-engine.js';
import { withLease } from '../orchestration/lease.js';
import { testPause } from '../orchestration/test-pause.js';
import { ConflictError, ValidationError } from '../errors.js';
import { rejectReasonSql, type KnownAt } from './validate-sql.js';
import { commitOrRemove, rowsToReplace, stageLakeBatch } from './commit-ingest.js';
import { dropRaw, RAW_TABLE as RAW, type InputColumns } from './load-raw.js';
import { gateIngest } from '../quality/ingest-checks.js';
import { verdictStats } from '../quality/run-checks.js';
import type { CheckResult } from '../quality/evaluate-checks.js';
import { sourceCompositeKeys, sourceKeys } from './source-keys.js';
import { removeDuplicateEvents } from './deduplicate-events.js';
import { withSentValues } from './sent-values.js';
import { reportSchemaChange, schemaChangeOf } from '../observability/status/report-schema-change.js';
import { markErasedRows } from '../compliance/erasure/erased-rows.js';
import { classifiedColumns } from '../compliance/masking/classified-columns.js';
import { applySnapshotOnline, type SnapshotApplied } from '../streaming/apply-snapshot.js';

export interface IngestResult {
  readonly source: string;
  readonly accepted: number;
  readonly rejected: number;
  /** Valid rows not added because their `eventId` was already ingested (absent when skipped). */
  readonly duplicates?: number;
  readonly snapshot: string;
  /** True when the same file content was ingested before and nothing was done. */
  readonly skipped: boolean;
  /** The results of the source's checks on this batch (absent: it declares none); failing ones here are `warn` checks. */
  readonly checks?: readonly CheckResult[];
  /** What applying the committed rows to the online tables of the source's views did (asked with `online`). */
  readonly online?: SnapshotApplied;
}

/** Where a batch of loaded rows came from and how to commit it. */
export interface LoadedRows {
  /** What dead letters name as their file: the input file, or where a connector read the rows. */
  readonly origin: string;
  /** sha256 of the input: the snapshot's content hash. */
  readonly contentHash: string;
  /** The input file (`fileIdentity`), recorded with the snapshot: a re-run of it replaces this ingest's rows even after its bytes changed. */
  readonly file?: string;
  readonly knownAt: KnownAt;
  readonly force: boolean;
  /** Commit in place of the earlier ingests of this content or of this `file` (see `IngestCommit.replaces`). */
  readonly rerun?: boolean;
  /** An incremental read's high-water mark, committed with the snapshot (see `IngestCommit.cursor`). */
  readonly cursor?: IngestCommit['cursor'];
  /** The input's columns and types as read (for `schema` checks); undefined when unknown. */
  readonly observedColumns?: InputColumns;
  /**
   * Apply the committed rows to the online tables of the source's views (`applySnapshotOnline`)
   * within the run, so the run's stats and its lineage event name the tables it wrote.
   */
  readonly online?: boolean;
  /** Called with 2 once rows are checked and 3 before the commit. */
  readonly progress?: (done: number) => void;
}

/**
 * The one path every batch of rows takes into the lake, whatever read them (a file, a Postgres
 * table): it reads {@link RAW_TABLE} (text columns, as `loadRaw` makes it) once, validates every
 * row against the schema (set-based, in DuckDB), drops rows whose `eventId` was ingested before,
 * writes the valid rows as one Parquet file and commits it as one snapshot, with the rejected
 * rows as dead letters and the read's high-water mark, in one transaction. The source's checks
 * read the staged rows first: a batch failing an `error` check is quarantined instead (see
 * `gateIngest`) and the run fails. What the batch shows
 * about the upstream schema is reported (`schema_changed` on `source:<name>`).
 *
 * @example
 * await loadRaw(engine, source, path, 'csv', []);
 * const { result, stats } = await ingestLoadedRows(ctx, project, source, { origin: path, contentHash, knownAt: { mode: 'event' }, force: false });
 */
export async function ingestLoadedRows(ctx: SluiceContext, project: Project, source: Source, rows: LoadedRows): Promise<{ result: IngestResult; stats: Record<string, unknown> }> {
  if (rows.rerun && source.eventId !== undefined && isStreamed(source)) {
    throw new ValidationError('VALIDATION_FAILED', `source "${source.name}" is streamed and keeps its event ids in its log: a re-run of ${rows.origin} would find its own rows there as duplicates; ingest it without re-running it`);
  }
  const engine = await ctx.engine();
  try {
    // The raw text is kept only where a dead letter needs it: most rows are valid.
    const checked = `SELECT *, _line AS _n, ${rejectReasonSql(source, sourceKeys(project, source.name), sourceCompositeKeys(project, source.name), classifiedColumns(project, source.name))} AS _reason FROM ${RAW}`;
    await engine.run(`CREATE OR REPLACE TEMP TABLE ingest_checked AS SELECT * REPLACE (CASE WHEN _reason <> '' THEN _raw END AS _raw) FROM (${checked})`);
  } catch (error) {
    await reportSchemaChange(ctx, source, rows.origin, schemaChangeOf(source, { error }), 'ingest');
    throw error;
  } finally {
    await dropRaw(engine);
  }
  // Rows of an erased subject are refused (reason `erased`), their dead letters without the raw row.
  // The version is read before the check: a subject blocked after it makes the commit fail (CONFLICT),
  // never commit the subject; the rows are then checked again against the new block list and committed.
  // Duplicates leave ingest_checked on the attempt that finds them, so a retry finds none again: counted across attempts.
  let duplicates = 0;
  const attempt = async () => {
    const blockListVersion = await ctx.metadata.erasure.blockListVersion();
    await markErasedRows(engine, 'ingest_checked', project, source, { erasure: ctx.metadata.erasure, dataDir: ctx.dataDir });
    await testPause('ingest.checked');
    const replaces = rows.rerun ? await rowsToReplace(ctx, engine, source.name, rows.contentHash, rows.file) : undefined;
    // Checks the rows that are left (not duplicates) and commits them, with their dead letters.
    const commitChecked = async () => {
      const rawJson = `coalesce(_raw, to_json({${Object.keys(source.schema).map((c) => `${literal(c)}: ${ident(c)}`).join(', ')}})::VARCHAR)`;
      const rejectedRows = await engine.all<{ line: number; raw: string; reason: string }>(
        `SELECT _n AS line, ${rawJson} AS raw, _reason AS reason FROM ingest_checked WHERE _reason <> '' ORDER BY _n`,
      );
      const [{ accepted }] = (await engine.all<{ accepted: number }>(`SELECT count(*)::INTEGER AS accepted FROM ingest_checked WHERE _reason = ''`)) as [{ accepted: number }];
      rows.progress?.(2);
      const now = ctx.now();
      const deadLetters: DeadLetter[] = rejectedRows.map((r) => ({ source: source.name, file: rows.origin, line: r.line, raw: r.raw, reason: withSentValues(r.reason, r.raw), createdAt: now }));
      const staged = accepted > 0 ? await stageLakeBatch(ctx, engine, project, source, accepted, rows.knownAt) : undefined;
      let published: string[] | undefined;
      let verdict: Awaited<ReturnType<typeof gateIngest>>;
      try {
        // The source's checks read the staged rows; a blocked batch goes to quarantine (as one file) instead of the lake.
        verdict = await gateIngest(ctx, project, source, accepted, deadLetters, { origin: rows.origin, contentHash: rows.contentHash, blockListVersion, ...(staged ? { staged } : {}), ...(rows.observedColumns ? { observedColumns: rows.observedColumns } : {}) });
        published = staged ? await staged.publish(`seq${staged.firstSeq}-${rows.contentHash.slice(0, 12)}`) : undefined;
      } finally {
        await staged?.discard();
      }
      const outcome = await commitOrRemove(ctx, published, async () => {
        await testPause('ingest.committing');
        rows.progress?.(3);
        const cursor = rows.cursor === undefined ? {} : { cursor: rows.cursor };
        return ctx.metadata.commitIngest({ source: source.name, addedFiles: published ?? [], addedRows: accepted, contentHash: rows.contentHash, ...(rows.file === undefined ? {} : { origin: rows.file }), force: rows.force, ...(replaces ? { replaces } : {}), createdAt: now, blockListVersion, ...cursor }, deadLetters);
      });
      return { deadLetters, accepted, outcome, verdict };
    };
    // With event ids, the duplicate check reads the lake and the commit extends it: ingests of
    // the source hold a lease across both, so two overlapping inputs cannot both add an id.
    const checkAndCommit = async () => {
      // A re-run's rows are not duplicates of the rows it replaces.
      const replaced = new Set(replaces?.files ?? []);
      const lakeFiles = ((await ctx.metadata.latestSnapshot(source.name))?.files ?? []).filter((f) => !replaced.has(f)).map((f) => ctx.lake.resolve(f));
      const seen = await removeDuplicateEvents(engine, source, 'ingest_checked', {
        lakeFiles, ...(isStreamed(source) ? { log: await ctx.log() } : {}), claim: rows.contentHash, now: ctx.now(),
        committed: async (claim) => (await ctx.metadata.findIngest(source.name, claim)) !== undefined,
      });
      duplicates += seen.removed;
      let landed = false;
      try {
        const committed = await commitChecked();
        landed = committed.outcome.committed;
        return committed;
      } finally {
        // The claimed ids stay remembered only if the rows are in the lake.
        await seen.settle(landed);
      }
    };
    return source.eventId === undefined
      ? checkAndCommit()
      : withLease(ctx.metadata, `ingest-events:${source.name}`, { waitMs: 600_000, purpose: `ingest into source "${source.name}" (its event ids are checked against the lake and the log)` }, checkAndCommit);
  };
  const { deadLetters, accepted, outcome, verdict } = await withBlockListRetry(attempt).finally(() => engine.run('DROP TABLE IF EXISTS ingest_checked'));
  if (outcome.committed) await reportSchemaChange(ctx, source, rows.origin, schemaChangeOf(source, { accepted, reasons: deadLetters.map((d) => d.reason) }), 'ingest');
  const { snapshot } = outcome;
  const online = outcome.committed && rows.online === true ? await applySnapshotOnline(ctx, project, source, snapshot) : undefined;
  const result: IngestResult = outcome.committed
    ? { source: source.name, accepted, rejected: deadLetters.length, duplicates, snapshot: snapshot.id, skipped: false, ...(verdict ? { checks: verdict.results } : {}), ...(online ? { online } : {}) }
    : { source: source.name, accepted: 0, rejected: 0, snapshot: snapshot.id, skipped: true };
  return { result, stats: { accepted: result.accepted, rejected: result.rejected, duplicates: result.duplicates ?? 0, snapshot: snapshot.id, skipped: result.skipped, ...verdictStats(verdict), ...(online ? { online: online.applied } : {}) } };
}

/** How many times an ingest checks its rows again after erasure requests arrived during its commit. */
const BLOCK_LIST_ATTEMPTS = 5;

/**
 * Runs `attempt` again when its commit found the erasure block list changed since its rows were
 * checked (each attempt marks the newly erased rows first); any other error, or the last
 * conflict, is thrown.
 */
async function withBlockListRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= BLOCK_LIST_ATTEMPTS || !(error instanceof ConflictError) || error.details?.['blockListChanged'] !== true) throw error;
    }
  }
}
