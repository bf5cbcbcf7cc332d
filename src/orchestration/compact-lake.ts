import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import type { SluiceContext } from '../context.js';
import type { Project, Source } from '../definitions/index.js';
import { AdapterError, NotFoundError, ValidationError } from '../errors.js';
import { publishLakeFiles } from '../ingest/commit-ingest.js';
import { literal, readPathList, type SqlEngine } from '../storage/engine/sql-engine.js';
import { compactable, compactionGroups, DEFAULT_COMPACTION_POLICY, type CompactionCandidate, type CompactionPolicy } from '../storage/lake/compaction-plan.js';
import type { Snapshot } from '../storage/metadata/metadata-store.js';
import { markHeldSnapshot } from '../streaming/reflected-snapshot.js';
import { withLease } from './lease.js';
import { testPause } from './test-pause.js';
import { trackRun } from './track-run.js';

export interface CompactOptions {
  readonly policy?: Partial<CompactionPolicy>;
  /** Runs work on the engine alone (the server's stream engine); default: the context's engine. */
  readonly exclusive?: <T>(work: (engine: SqlEngine) => Promise<T>) => Promise<T>;
  /** How long to wait for a purge of the source (retention, erasure) to finish first; default 10 minutes. Past it: a ConflictError, and no run is recorded. */
  readonly leaseWaitMs?: number;
}

/** What one compaction pass of a source did. */
export interface CompactionReport {
  readonly source: string;
  /** The compaction snapshot committed; null when nothing was due. */
  readonly snapshot: string | null;
  /** Files of the latest snapshot before, and after. */
  readonly filesBefore: number;
  readonly filesAfter: number;
  /** Files rewritten, files written, rows moved (the snapshot's rows are unchanged). */
  readonly replaced: number;
  readonly written: number;
  readonly rows: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/**
 * Compacts a source's small lake files (see `compactionGroups`): the small files of its latest
 * snapshot are rewritten, row for row in `_seq` order, into fewer files laid out as ingest lays
 * out a batch (entity-key buckets when large), and committed as a compaction snapshot
 * (`MetadataStore.commitCompaction`): the same rows, no new data. Older snapshots keep their
 * files; `sluice gc` removes the replaced ones once no snapshot lists them (retention expires the
 * old snapshots). A tracked run (`compact`) under the source's purge lease (taken first), so a
 * retention or an erasure purge runs before or after it, never in between; a micro-batch or an ingest committed
 * meanwhile stays in the new snapshot; a file the compaction read that was replaced meanwhile
 * fails the commit (CONFLICT) and removes the new files. A crash before the commit leaves the
 * old snapshot current and only unreferenced files, which `sluice gc` removes.
 *
 * @example
 * const report = await compactSource(ctx, project, 'events', { policy: { minFiles: 2 } });
 */
export async function compactSource(ctx: SluiceContext, project: Project, sourceName: string, options: CompactOptions = {}): Promise<CompactionReport> {
  const source = project.sources.find((s) => s.name === sourceName);
  if (source === undefined) throw new NotFoundError('NOT_FOUND', `source "${sourceName}" is not defined (sources: ${project.sources.map((s) => s.name).join(', ') || 'none'})`);
  // A purge of a transform's table runs under its root source's lease, which this one would not exclude.
  if (source.kind === 'transform') throw new ValidationError('VALIDATION_FAILED', `"${sourceName}" is a transform's table: transform tables are not compacted (a full run rewrites them); compact its input sources`);
  const policy = { ...DEFAULT_COMPACTION_POLICY, ...options.policy };
  const exclusive = options.exclusive ?? (async <T>(work: (engine: SqlEngine) => Promise<T>) => work(await ctx.engine()));
  // The lease first: a compaction that waits for a purge past its wait has not started (no failed run).
  return withLease(ctx.metadata, `purge:${source.name}`, { waitMs: options.leaseWaitMs ?? 600_000, purpose: `a purge or compaction of source "${source.name}"` }, () =>
    trackRun(ctx, 'compact', { source: source.name }, async () => {
      const report = await compactPass(ctx, project, source, policy, exclusive);
      return { result: report, stats: { ...report } };
    }, project));
}

/**
 * Whether a compaction of `source` is due by `policy`: its latest snapshot lists at least
 * `minFiles` small files that are not buckets of a split batch (file sizes only, no file read).
 *
 * @example
 * if (await compactionDue(ctx, 'events', DEFAULT_COMPACTION_POLICY)) await compactSource(ctx, project, 'events');
 */
export async function compactionDue(ctx: SluiceContext, source: string, policy: CompactionPolicy = DEFAULT_COMPACTION_POLICY): Promise<boolean> {
  const latest = await ctx.metadata.latestSnapshot(source);
  if (latest === undefined || latest.files.length < Math.max(2, policy.minFiles)) return false;
  return compactable(latest.files.map((file) => ({ file, bytes: fileBytes(ctx, file) })), policy).length > 0;
}

async function compactPass(ctx: SluiceContext, project: Project, source: Source, policy: CompactionPolicy, exclusive: NonNullable<CompactOptions['exclusive']>): Promise<CompactionReport> {
  const latest = await ctx.metadata.latestSnapshot(source.name);
  const nothing = (files: number): CompactionReport => ({ source: source.name, snapshot: null, filesBefore: files, filesAfter: files, replaced: 0, written: 0, rows: 0, bytesBefore: 0, bytesAfter: 0 });
  if (latest === undefined || latest.files.length < 2) return nothing(latest?.files.length ?? 0);
  const sizes = new Map(latest.files.map((f) => [f, fileBytes(ctx, f)]));
  const cheap = compactable(latest.files.map((file) => ({ file, bytes: sizes.get(file)! })), policy).map((f) => f.file);
  if (cheap.length === 0) return nothing(latest.files.length);
  const published: string[] = [];
  let committed: Snapshot | undefined;
  try {
    const { groups, rows } = await exclusive(async (engine) => {
      const schemas = await fileSchemas(ctx, engine, cheap);
      const candidates: CompactionCandidate[] = cheap.map((file) => ({ file, bytes: sizes.get(file)!, schema: schemas.get(file) ?? '' }));
      const groups = compactionGroups(candidates, policy);
      let rows = 0;
      for (const group of groups) {
        const written = await rewriteGroup(ctx, engine, project, source, group);
        published.push(...written.files);
        rows += written.rows;
      }
      return { groups, rows };
    });
    if (groups.length === 0) return nothing(latest.files.length);
    await testPause('compact.published');
    const replaced = groups.flat();
    // Under the committer's lease: a micro-batch's commit and the record of its log offset are never split by this one.
    committed = await withLease(ctx.metadata, `lake-commit:${source.name}`, { waitMs: 60_000, purpose: `the commit of a compaction of source "${source.name}"` }, () => ctx.metadata.commitCompaction({ source: source.name, replaced, files: published, createdAt: ctx.now() }));
    await markCompacted(ctx, project, source, committed);
    const bytesBefore = replaced.reduce((n, f) => n + sizes.get(f)!, 0);
    return {
      source: source.name, snapshot: committed.id, filesBefore: latest.files.length, filesAfter: committed.files.length, replaced: replaced.length,
      written: published.length, rows, bytesBefore, bytesAfter: published.reduce((n, f) => n + fileBytes(ctx, f), 0),
    };
  } finally {
    if (committed === undefined) for (const file of published) await ctx.lake.remove(file);
  }
}

const fileBytes = (ctx: SluiceContext, file: string): number => {
  try {
    return statSync(ctx.lake.resolve(file)).size;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
};

/** Each file's Parquet columns and types as one text, read from the files' footers. */
async function fileSchemas(ctx: SluiceContext, engine: SqlEngine, files: readonly string[]): Promise<Map<string, string>> {
  const byPath = new Map(files.map((f) => [ctx.lake.resolve(f), f]));
  const rows = await engine.all<{ file: string; schema: string }>(
    `SELECT file_name AS file, string_agg(name || ' ' || coalesce(type, '') || ' ' || coalesce(logical_type::VARCHAR, '') || ' ' || coalesce(repetition_type, ''), ', ' ORDER BY rowid) AS schema FROM (SELECT *, row_number() OVER () AS rowid FROM parquet_schema(${readPathList([...byPath.keys()])})) GROUP BY file_name`,
  );
  return new Map(rows.map((r) => [byPath.get(r.file) ?? r.file, r.schema]));
}

/**
 * Writes the rows of `files` (one schema) as one batch, in `_seq` order, published as the lake
 * publishes an ingested batch of that many rows (`publishLakeFiles`: entity-key buckets when
 * large). The rows written are counted against the files' own counts before anything is published.
 */
async function rewriteGroup(ctx: SluiceContext, engine: SqlEngine, project: Project, source: Source, files: readonly string[]): Promise<{ files: string[]; rows: number }> {
  const paths = readPathList(files.map((f) => ctx.lake.resolve(f)));
  const [{ n: expected }] = (await engine.all<{ n: number }>(`SELECT coalesce(sum(num_rows), 0)::BIGINT AS n FROM parquet_file_metadata(${paths})`)) as [{ n: number }];
  const staged = ctx.lake.stagingPath(source.name);
  try {
    const columns = await engine.all<{ name: string }>(`SELECT name FROM parquet_schema(${readPathList([ctx.lake.resolve(files[0]!)])}) WHERE name = '_seq'`);
    await engine.run(`COPY (SELECT * FROM read_parquet(${paths})${columns.length > 0 ? ' ORDER BY _seq' : ''}) TO ${literal(staged)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    const [{ n }] = (await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM read_parquet(${literal(staged)})`)) as [{ n: number }];
    if (Number(n) !== Number(expected)) throw new AdapterError('ADAPTER_FAILED', `source "${source.name}": the compacted file holds ${Number(n)} rows, the ${files.length} files it rewrites ${Number(expected)}; nothing was committed`);
    return { files: await publishLakeFiles(ctx, engine, project, source, staged, Number(n), `compact-${randomUUID().slice(0, 8)}`), rows: Number(n) };
  } finally {
    await ctx.lake.discard(staged);
  }
}

/** The online tables of the source's views that held the compacted snapshot's parent now reflect the compaction (same rows). */
async function markCompacted(ctx: SluiceContext, project: Project, source: Source, snapshot: Snapshot): Promise<void> {
  const views = project.featureViews.filter((v) => v.source === source.name);
  if (views.length === 0) return;
  const online = await ctx.online();
  for (const view of views) await markHeldSnapshot(ctx.metadata, online, view.name, source.name, snapshot);
}
