import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { Project } from '../definitions/index.js';
import { didYouMean } from '../definitions/index.js';
import { sourceBatchDrift } from '../observability/drift/source-batch-drift.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { SluiceContext } from '../context.js';
import type { DeadLetter } from '../storage/metadata/metadata-store.js';
import { ident, literal } from '../storage/engine/sql-engine.js';
import { rejectReasonSql, type KnownAt } from './validate-sql.js';
import { commitOrRemove, writeLakeFile } from './commit-ingest.js';
import { withLease } from '../orchestration/lease.js';
import { trackRun } from '../orchestration/track-run.js';
import { reportSchemaChange, schemaChangeOf } from '../observability/status/report-schema-change.js';
import { dropRaw, loadRaw, RAW_TABLE as RAW, type InputFormat } from './load-raw.js';
import { scanFile } from './scan-file.js';
import { sourceCompositeKeys, sourceKeys } from './source-keys.js';
import { removeDuplicateEvents } from './deduplicate-events.js';

export type { InputFormat } from './load-raw.js';

export interface IngestResult {
  readonly source: string;
  readonly accepted: number;
  readonly rejected: number;
  /** Valid rows not added because their `eventId` was already ingested (absent when skipped). */
  readonly duplicates?: number;
  readonly snapshot: string;
  /** True when the same file content was ingested before and nothing was done. */
  readonly skipped: boolean;
}

export interface IngestOptions {
  /** Ingest again even if this exact file content was ingested before. */
  readonly force?: boolean;
  /**
   * What the rows' `_known_at` (when Sluice first knew them) records: `event`, their event time
   * (default: backfill of history that was known as it happened), or `ingestion`, the clock at
   * the start of this ingest, one value for the whole file (history Sluice learns only now, so
   * as-known datasets do not see it before today).
   */
  readonly knownAt?: 'event' | 'ingestion';
  /** Called as the stages (read, validate, write, commit) complete. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The input format of a file, by its extension. */
export function inputFormat(path: string): InputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new ValidationError('UNSUPPORTED_FORMAT', `${path}: unknown format "${ext}"; use .csv, .jsonl (or .ndjson) or .parquet`);
}

/**
 * Ingests one file into a source, streaming (memory does not grow with the file): every row is
 * validated against the schema (set-based, in DuckDB); valid rows become one new Parquet file
 * and one atomically committed snapshot; every rejected row goes to the dead-letter store with
 * its line, raw content and reason, in the same transaction. With the source's `eventId`, rows
 * already ingested are not added again (`duplicates`). Re-ingesting identical content is a
 * no-op unless `force`.
 *
 * @example
 * const result = await ingestFile(ctx, project, 'transactions', 'data/transactions.csv');
 */
export async function ingestFile(ctx: SluiceContext, project: Project, sourceName: string, path: string, options: IngestOptions = {}): Promise<IngestResult> {
  const source = project.sources.find((s) => s.name === sourceName);
  if (!source) {
    throw new NotFoundError('UNKNOWN_SOURCE', `source "${sourceName}" is not in the registry${didYouMean(sourceName, project.sources.map((s) => s.name))}; run "sluice apply" after adding it`);
  }
  if (source.kind === 'transform') {
    throw new ValidationError('VALIDATION_FAILED', `"${source.name}" is a transform: its table is written only by "sluice transform run ${source.name}"; ingest into one of its inputs (${(project.transforms ?? []).find((t) => t.name === source.name)?.inputs.join(', ')})`);
  }
  const format = inputFormat(path);
  if (!existsSync(path)) throw new NotFoundError('NOT_FOUND', `input file ${path} does not exist`);
  if (statSync(path).size === 0) throw new ValidationError('VALIDATION_FAILED', `${path} is empty (0 bytes): there is nothing to ingest; check the export that wrote it`);
  const scan = await scanFile(path, format !== 'parquet');
  const contentHash = scan.sha256;
  if (!options.force) {
    const previous = await ctx.metadata.findIngest(source.name, contentHash);
    if (previous) return { source: source.name, accepted: 0, rejected: 0, snapshot: previous.id, skipped: true };
  }
  const knownAt: KnownAt = options.knownAt === 'ingestion' ? { mode: 'ingestion', at: ctx.now() } : { mode: 'event' };
  const ingested = await trackRun(ctx, 'ingest', { source: source.name, file: path, force: options.force ?? false, knownAt: knownAt.mode }, async () => {
    const engine = await ctx.engine();
    const progress = (done: number) => options.onProgress?.(done, 4);
    try {
      await loadRaw(engine, source, path, format, scan.invalidUtf8);
      progress(1);
      // The raw text is kept only where a dead letter needs it: most rows are valid.
      const checked = `SELECT *, _line AS _n, ${rejectReasonSql(source, sourceKeys(project, source.name), sourceCompositeKeys(project, source.name))} AS _reason FROM ${RAW}`;
      await engine.run(`CREATE OR REPLACE TEMP TABLE ingest_checked AS SELECT * REPLACE (CASE WHEN _reason <> '' THEN _raw END AS _raw) FROM (${checked})`);
    } catch (error) {
      await reportSchemaChange(ctx, source, path, schemaChangeOf(source, { error }));
      throw error;
    } finally {
      await dropRaw(engine);
    }
    // With event ids, the duplicate check reads the lake and the commit extends it: ingests of
    // the source hold a lease across both, so two overlapping files cannot both add an id.
    const checkAndCommit = async () => {
      const lakeFiles = ((await ctx.metadata.latestSnapshot(source.name))?.files ?? []).map((f) => ctx.lake.resolve(f));
      const duplicates = await removeDuplicateEvents(engine, source, 'ingest_checked', lakeFiles);
      const rawJson = `coalesce(_raw, to_json({${Object.keys(source.schema).map((c) => `${literal(c)}: ${ident(c)}`).join(', ')}})::VARCHAR)`;
      const rejectedRows = await engine.all<{ line: number; raw: string; reason: string }>(
        `SELECT _n AS line, ${rawJson} AS raw, _reason AS reason FROM ingest_checked WHERE _reason <> '' ORDER BY _n`,
      );
      const [{ accepted }] = (await engine.all<{ accepted: number }>(`SELECT count(*)::INTEGER AS accepted FROM ingest_checked WHERE _reason = ''`)) as [{ accepted: number }];
      progress(2);
      const now = ctx.now();
      const deadLetters: DeadLetter[] = rejectedRows.map((r) => ({ source: source.name, file: path, line: r.line, raw: r.raw, reason: r.reason, createdAt: now }));
      const published = accepted > 0 ? await writeLakeFile(ctx, source, accepted, contentHash, knownAt) : undefined;
      const outcome = await commitOrRemove(ctx, published, async () => {
        await engine.run(`DROP TABLE IF EXISTS ${RAW}; DROP TABLE IF EXISTS ingest_checked`);
        progress(3);
        return ctx.metadata.commitIngest({ source: source.name, addedFiles: published ? [published] : [], addedRows: accepted, contentHash, force: options.force ?? false, createdAt: now }, deadLetters);
      });
      return { duplicates, deadLetters, accepted, outcome };
    };
    const { duplicates, deadLetters, accepted, outcome } = source.eventId === undefined
      ? await checkAndCommit()
      : await withLease(ctx.metadata, `ingest-events:${source.name}`, { waitMs: 600_000, purpose: `ingest into source "${source.name}" (its event ids are checked against the lake)` }, checkAndCommit);
    progress(4);
    if (outcome.committed) await reportSchemaChange(ctx, source, path, schemaChangeOf(source, { accepted, reasons: deadLetters.map((d) => d.reason) }));
    const { snapshot } = outcome;
    const result: IngestResult = outcome.committed
      ? { source: source.name, accepted, rejected: deadLetters.length, duplicates, snapshot: snapshot.id, skipped: false }
      : { source: source.name, accepted: 0, rejected: 0, snapshot: snapshot.id, skipped: true };
    return { result, stats: { accepted: result.accepted, rejected: result.rejected, duplicates: result.duplicates ?? 0, snapshot: snapshot.id, skipped: result.skipped } };
  }, project);
  // Drift of this batch against the source's previous one (docs/drift.md).
  if (!ingested.skipped && ingested.accepted > 0) await sourceBatchDrift(ctx, project, source.name, ingested.snapshot);
  return ingested;
}
