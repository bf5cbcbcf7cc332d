import type { SluiceContext } from '../../context.js';
import { DEFAULT_DRIFT, type Project } from '../../definitions/index.js';
import { readPathList } from '../../storage/engine/sql-engine.js';
import type { ColumnProfile, Profile } from './column-profile.js';
import { profiledColumns, profileRelation } from './profile-sql.js';
import { categoryToken, classifiedColumns } from '../../compliance/masking/classified-columns.js';
import { projectSecret } from '../../compliance/project-secret.js';
import { compareProfiles, reportDrift, type DriftComparison, type DriftSkip } from './report-drift.js';

export interface BatchDriftReport extends DriftComparison {
  readonly source: string;
  readonly snapshot: string;
  /** The snapshot of the batch compared with; null for a source's first batch. */
  readonly previous: string | null;
}

/** What is kept of a source's last batch: its profile, the snapshot that added it, and the columns its comparison skipped (with why). */
interface StoredBatch {
  readonly snapshot: string;
  readonly profile: Profile;
  /** Absent in profiles stored before 2026-12-01. */
  readonly skipped?: readonly DriftSkip[];
  /** When it was compared (epoch ms). */
  readonly at?: number;
}

/** A column the newest batch of a source could not be scored on: its result is not this batch's. */
export interface BatchSkip extends DriftSkip {
  readonly subject: string;
  readonly snapshot: string;
  readonly at?: number;
}

/**
 * The columns the newest profiled batch of each source skipped, with the reason, as kept in the
 * drift store (`batch:<source>`): what `sluice drift` shows in place of an older batch's score.
 *
 * @example
 * const skips = await batchSkips(platform.metadata.drift, ['transactions']);
 */
export async function batchSkips(drift: SluiceContext['metadata']['drift'], sources: readonly string[]): Promise<BatchSkip[]> {
  const skips: BatchSkip[] = [];
  for (const source of sources) {
    const stored = (await drift.profile(`batch:${source}`))?.profile as StoredBatch | undefined;
    for (const skip of stored?.skipped ?? []) skips.push({ subject: `source:${source}`, snapshot: stored!.snapshot, ...skip, ...(stored!.at === undefined ? {} : { at: stored!.at }) });
  }
  return skips;
}

/** Columns that identify rather than describe: event ids, CDC keys, entity keys of views on the source. */
function identifierColumns(project: Project, source: string): Set<string> {
  const s = project.sources.find((x) => x.name === source);
  return new Set([
    ...(s?.eventId === undefined ? [] : [s.eventId]), ...(s?.key === undefined ? [] : [s.key]),
    ...project.featureViews.filter((v) => v.source === source).flatMap((v) => v.joinKeys),
  ]);
}

/**
 * Drift between consecutive batches of a source: the rows a snapshot added (the files it lists
 * beyond its parent's), profiled set-based in DuckDB, against the profile of the source's
 * previous batch, kept in the drift store under `batch:<source>` (one small profile per source).
 * Numeric and categorical columns are scored with the default thresholds; identifiers are
 * left out. Results are stored under `source:<name>` and each scored column is reported as the
 * health condition `drift` of `column:<source>.<column>`. A source's first batch is profiled
 * and kept, with nothing to compare. A failure never fails the ingest: it is reported as the
 * condition `job_failed` of `job:drift:<source>` (cleared by the next batch that is profiled).
 *
 * @example
 * await sourceBatchDrift(platform, project, 'transactions', result.snapshot);
 */
export async function sourceBatchDrift(ctx: SluiceContext, project: Project, source: string, snapshotId: string): Promise<BatchDriftReport | undefined> {
  // The batch is committed whatever happens here: a failure is a condition to see, not a failed ingest.
  const condition = { kind: 'job_failed', subject: `job:drift:${source}`, severity: 'warn' } as const;
  try {
    const report = await compareBatch(ctx, project, source, snapshotId);
    await ctx.metadata.health.report({ ...condition, firing: false, message: `drift of source "${source}" batches is computed again` }, ctx.now());
    return report;
  } catch (error) {
    await ctx.metadata.health.report({
      ...condition, firing: true, details: { snapshot: snapshotId, error: (error as Error).message },
      message: `the drift of batch ${snapshotId} of source "${source}" could not be computed (${(error as Error).message}); its rows are committed; the next batch is compared with the last profiled one`,
    }, ctx.now());
    return undefined;
  }
}

/** A categorical column whose profile counted all its values (at most `TOP_K`): a batch compared with it is scored on its top values. */
const isNarrowCategory = (column: ColumnProfile | undefined): boolean => column?.kind === 'categorical' && column.other === 0;

async function compareBatch(ctx: SluiceContext, project: Project, source: string, snapshotId: string): Promise<BatchDriftReport | undefined> {
  const snapshot = await ctx.metadata.snapshot(snapshotId);
  const key = `batch:${source}`;
  const previous = (await ctx.metadata.drift.profile(key))?.profile as StoredBatch | undefined;
  // Once per batch: a batch is never compared with itself.
  if (!snapshot || previous?.snapshot === snapshot.id) return undefined;
  const parent = snapshot.parentId === null ? undefined : await ctx.metadata.snapshot(snapshot.parentId);
  const before = new Set(parent?.files ?? []);
  const added = snapshot.files.filter((f) => !before.has(f)).map((f) => ctx.lake.resolve(f));
  if (added.length === 0) return undefined;
  const schema = project.sources.find((s) => s.name === source)?.schema ?? {};
  const skip = identifierColumns(project, source);
  const engine = await ctx.engine();
  const relation = `read_parquet(${readPathList(added)}, union_by_name = true)`;
  const classified = classifiedColumns(project, source);
  const columns = (await profiledColumns(engine, relation, Object.keys(schema).filter((c) => !skip.has(c)))).map((c) => ({ ...c, classified: classified.has(c.name) }));
  // A column's top values are scored only against a previous batch where it had at most TOP_K values (see compareProfiles).
  const uncountedWhenWide = new Set(columns.filter((c) => !isNarrowCategory(previous?.profile.columns[c.name])).map((c) => c.name));
  const profile = await profileRelation(engine, relation, columns, { token: categoryToken(() => projectSecret(ctx.dataDir)), uncountedWhenWide });
  const comparison = previous
    ? compareProfiles(`source:${source}`, previous.profile, profile, () => DEFAULT_DRIFT, ctx.now(), {
      details: { snapshot: snapshot.id, previousSnapshot: previous.snapshot, rows: profile.rows, previousRows: previous.profile.rows },
    })
    : undefined;
  // The skips are kept with the batch: its columns' latest results are then known not to be this batch's.
  await ctx.metadata.drift.saveProfile(key, { snapshot: snapshot.id, profile, skipped: comparison?.skipped ?? [], at: ctx.now() } satisfies StoredBatch, ctx.now());
  if (!previous || !comparison) return { source, snapshot: snapshot.id, previous: null, results: [], skipped: [] };
  await reportDrift(ctx, comparison.results, (r) => `column:${source}.${r.feature}`, (r) => `column ${source}.${r.feature} (batch ${snapshot.id} against ${previous.snapshot})`);
  return { source, snapshot: snapshot.id, previous: previous.snapshot, ...comparison };
}
