import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import type { Project, Source } from '../definitions/index.js';
import { didYouMean } from '../definitions/index.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { SluiceContext } from '../context.js';
import type { DeadLetter } from '../storage/metadata/metadata-store.js';
import { ident, literal, type SqlEngine } from '../storage/engine/sql-engine.js';
import { readCsv, readJsonl, type MalformedRecord } from './read-records.js';
import { rejectReasonSql, sourceJoinKeys } from './validate-sql.js';
import { commitOrRemove, writeLakeFile } from './commit-ingest.js';
import { trackRun } from '../orchestration/track-run.js';
import { fileSha256 } from './file-hash.js';

export type InputFormat = 'csv' | 'jsonl' | 'parquet';

export interface IngestResult {
  readonly source: string;
  readonly accepted: number;
  readonly rejected: number;
  readonly snapshot: string;
  /** True when the same file content was ingested before and nothing was done. */
  readonly skipped: boolean;
}

export interface IngestOptions {
  /** Ingest again even if this exact file content was ingested before. */
  readonly force?: boolean;
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

const RAW = 'ingest_raw';

/** Loads the file into a table of text columns `_line, _raw, <schema columns>`; returns unparseable records. */
async function loadRaw(engine: SqlEngine, source: Source, path: string, format: InputFormat): Promise<MalformedRecord[]> {
  const columns = Object.keys(source.schema);
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${RAW} (_line BIGINT, _raw VARCHAR, ${columns.map((c) => `${ident(c)} VARCHAR`).join(', ')})`);
  if (format === 'parquet') {
    const present = new Set((await engine.all<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${literal(path)})`)).map((r) => r.column_name));
    const missing = columns.filter((c) => !present.has(c));
    if (missing.length > 0) {
      throw new ValidationError('VALIDATION_FAILED', `${path}: the Parquet file lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')} of source "${source.name}"`);
    }
    const cols = columns.map((c) => `CAST(${ident(c)} AS VARCHAR)`).join(', ');
    await engine.run(`INSERT INTO ${RAW} SELECT row_number() OVER (), NULL, ${cols} FROM read_parquet(${literal(path)})`);
    return [];
  }
  const parsed = format === 'csv' ? await readCsv(path, columns) : await readJsonl(path, columns);
  await engine.appendText(RAW, parsed.records.map((r) => [String(r.line), r.raw, ...r.values]));
  return parsed.malformed;
}

/**
 * Ingests one file into a source: every row is validated against the schema (set-based, in
 * DuckDB); valid rows become one new Parquet file and one atomically committed snapshot;
 * every rejected row goes to the dead-letter store with its line, raw content and reason, in
 * the same transaction. Re-ingesting identical content is a no-op unless `force`.
 *
 * @example
 * const result = await ingestFile(ctx, project, 'transactions', 'data/transactions.csv');
 */
export async function ingestFile(ctx: SluiceContext, project: Project, sourceName: string, path: string, options: IngestOptions = {}): Promise<IngestResult> {
  const source = project.sources.find((s) => s.name === sourceName);
  if (!source) {
    throw new NotFoundError('UNKNOWN_SOURCE', `source "${sourceName}" is not in the registry${didYouMean(sourceName, project.sources.map((s) => s.name))}; run "sluice apply" after adding it`);
  }
  const format = inputFormat(path);
  if (!existsSync(path)) throw new NotFoundError('NOT_FOUND', `input file ${path} does not exist`);
  const contentHash = await fileSha256(path);
  if (!options.force) {
    const previous = await ctx.metadata.findIngest(source.name, contentHash);
    if (previous) return { source: source.name, accepted: 0, rejected: 0, snapshot: previous.id, skipped: true };
  }
  return trackRun(ctx, 'ingest', { source: source.name, file: path, force: options.force ?? false }, async () => {
    const engine = await ctx.engine();
    const progress = (done: number) => options.onProgress?.(done, 4);
    const malformed = await loadRaw(engine, source, path, format);
    progress(1);
    await engine.run(`CREATE OR REPLACE TEMP TABLE ingest_checked AS SELECT *, _line AS _n, ${rejectReasonSql(source, sourceJoinKeys(project, source.name))} AS _reason FROM ${RAW}`);
    const rawJson = `coalesce(_raw, to_json({${Object.keys(source.schema).map((c) => `${literal(c)}: ${ident(c)}`).join(', ')}})::VARCHAR)`;
    const rejectedRows = await engine.all<{ line: number; raw: string; reason: string }>(
      `SELECT _n AS line, ${rawJson} AS raw, _reason AS reason FROM ingest_checked WHERE _reason <> '' ORDER BY _n`,
    );
    const [{ accepted }] = (await engine.all<{ accepted: number }>(`SELECT count(*)::INTEGER AS accepted FROM ingest_checked WHERE _reason = ''`)) as [{ accepted: number }];
    progress(2);
    const now = ctx.now();
    const deadLetters: DeadLetter[] = [...malformed, ...rejectedRows]
      .sort((a, b) => a.line - b.line)
      .map((r) => ({ source: source.name, file: path, line: r.line, raw: r.raw, reason: r.reason, createdAt: now }));
    const published = accepted > 0 ? await writeLakeFile(ctx, source, accepted, contentHash) : undefined;
    const outcome = await commitOrRemove(ctx, published, async () => {
      await engine.run(`DROP TABLE IF EXISTS ${RAW}; DROP TABLE IF EXISTS ingest_checked`);
      progress(3);
      return ctx.metadata.commitIngest({ source: source.name, addedFiles: published ? [published] : [], addedRows: accepted, contentHash, force: options.force ?? false }, deadLetters);
    });
    progress(4);
    const { snapshot } = outcome;
    const result: IngestResult = outcome.committed
      ? { source: source.name, accepted, rejected: deadLetters.length, snapshot: snapshot.id, skipped: false }
      : { source: source.name, accepted: 0, rejected: 0, snapshot: snapshot.id, skipped: true };
    return { result, stats: { accepted: result.accepted, rejected: result.rejected, snapshot: snapshot.id, skipped: result.skipped } };
  });
}
