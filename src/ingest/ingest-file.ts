import { statSync } from 'node:fs';
import { extname } from 'node:path';
import type { Project } from '../definitions/index.js';
import { findSource } from '../definitions/index.js';
import { sourceBatchDrift } from '../observability/drift/source-batch-drift.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { SluiceContext } from '../context.js';
import type { KnownAt } from './validate-sql.js';
import { trackRun } from '../orchestration/track-run.js';
import { reportSchemaChange, schemaChangeOf } from '../observability/status/report-schema-change.js';
import { dropRaw, jsonInputColumns, loadRaw, type InputColumns, type InputFormat } from './load-raw.js';
import { refuseHeldContent } from '../quality/ingest-checks.js';
import { scanFile } from './scan-file.js';
import { ingestLoadedRows, type IngestResult } from './ingest-rows.js';
import { fileIdentity } from './file-identity.js';

export type { InputFormat } from './load-raw.js';

export type { IngestResult } from './ingest-rows.js';

export interface IngestOptions {
  /** Ingest again even if this exact file content was ingested before. */
  readonly force?: boolean;
  /**
   * Ingest again in place of the earlier ingests of this file (a backfill's `--rerun`, after a fix
   * of the source's definition or of the file): the rows of every earlier ingest of the same path
   * (`fileIdentity`), whatever its bytes were then, and of the same bytes under any path, are
   * replaced, atomically, not doubled (see `IngestCommit.replaces`). A file never ingested is
   * ingested as it would be without it.
   */
  readonly rerun?: boolean;
  /**
   * What the rows' `_known_at` (when Sluice first knew them) records: `event`, their event time
   * (default: backfill of history that was known as it happened), or `ingestion`, the clock at
   * the start of this ingest, one value for the whole file (history Sluice learns only now, so
   * as-known datasets do not see it before today).
   */
  readonly knownAt?: 'event' | 'ingestion';
  /** Apply the committed rows to the online tables of the source's views within the run (see `LoadedRows.online`). */
  readonly online?: boolean;
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
 * The format of a file Sluice is given to read (`role`: "input file", "spine file"): it must
 * exist, be a file and hold bytes; `emptyHint` says what the empty file should have held.
 */
export function readableInputFormat(path: string, role: string, emptyHint: string): InputFormat {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats === undefined) throw new NotFoundError('NOT_FOUND', `${role} ${path} does not exist`);
  if (stats.isDirectory()) throw new ValidationError('VALIDATION_FAILED', `${role} ${path} is a directory; give a .csv, .jsonl or .parquet file`);
  const format = inputFormat(path);
  if (stats.size === 0) throw new ValidationError('VALIDATION_FAILED', `${role} ${path} is empty (0 bytes): ${emptyHint}`);
  return format;
}

/**
 * Ingests one file into a source, streaming (memory does not grow with the file): every row is
 * validated against the schema (set-based, in DuckDB); valid rows become one new Parquet file
 * and one atomically committed snapshot; every rejected row goes to the dead-letter store with
 * its line, raw content and reason, in the same transaction. With the source's `eventId`, rows
 * already ingested are not added again (`duplicates`). Re-ingesting identical content is a
 * no-op unless `force` (added again) or `rerun` (in place of the earlier rows).
 *
 * @example
 * const result = await ingestFile(ctx, project, 'transactions', 'data/transactions.csv');
 */
export async function ingestFile(ctx: SluiceContext, project: Project, sourceName: string, path: string, options: IngestOptions = {}): Promise<IngestResult> {
  const source = findSource(project, sourceName);
  if (source.kind === 'transform') {
    throw new ValidationError('VALIDATION_FAILED', `"${source.name}" is a transform: its table is written only by "sluice transform run ${source.name}"; ingest into one of its inputs (${(project.transforms ?? []).find((t) => t.name === source.name)?.inputs.join(', ')})`);
  }
  const format = readableInputFormat(path, 'input file', 'there is nothing to ingest; check the export that wrote it');
  const scan = await scanFile(path, format !== 'parquet');
  const contentHash = scan.sha256;
  if (!options.force) {
    const previous = options.rerun ? undefined : await ctx.metadata.findIngest(source.name, contentHash);
    if (previous) return { source: source.name, accepted: 0, rejected: 0, snapshot: previous.id, skipped: true };
    await refuseHeldContent(ctx, source.name, contentHash, path);
  }
  const knownAt: KnownAt = options.knownAt === 'ingestion' ? { mode: 'ingestion', at: ctx.now() } : { mode: 'event' };
  const ingested = await trackRun(ctx, 'ingest', { source: source.name, file: path, force: options.force ?? false, ...(options.rerun ? { rerun: true } : {}), knownAt: knownAt.mode }, async () => {
    const progress = (done: number) => options.onProgress?.(done, 4);
    const engine = await ctx.engine();
    let observedColumns: InputColumns | undefined;
    try {
      observedColumns = await loadRaw(engine, source, path, format, scan.invalidUtf8);
      if (format === 'jsonl' && source.checks?.some((c) => c.kind === 'schema')) observedColumns = await jsonInputColumns(engine);
    } catch (error) {
      await reportSchemaChange(ctx, source, path, schemaChangeOf(source, { error }), 'ingest');
      await dropRaw(engine);
      throw error;
    }
    progress(1);
    const checked = await ingestLoadedRows(ctx, project, source, { origin: path, contentHash, file: fileIdentity(ctx.dataDir, path), knownAt, force: options.force ?? false, rerun: options.rerun === true, online: options.online === true, progress, ...(observedColumns ? { observedColumns } : {}) });
    progress(4);
    return checked;
  }, project);
  // Drift of this batch against the source's previous one (docs/drift.md).
  if (!ingested.skipped && ingested.accepted > 0) await sourceBatchDrift(ctx, project, source.name, ingested.snapshot);
  return ingested;
}
