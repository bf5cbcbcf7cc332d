import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import { NotFoundError } from '../../errors.js';
import { ident, literal, readPath } from '../../storage/engine/sql-engine.js';
import type { DatasetRecord } from '../../storage/metadata/metadata-store.js';
import { servedAtSql, servedRowsSql, servedStatusSql, servedValueSql, servingLogFiles } from '../serving-log/read-serving-log.js';
import { UNNAMED_SERVICE } from '../serving-log/served-row.js';
import { servingLogDrops, type ServingLogDrops } from '../serving-log/serving-log-drops.js';
import type { Profile } from './column-profile.js';
import { profiledColumns, profileRelation } from './profile-sql.js';
import { categoryToken, isClassifiedFeatureColumn } from '../../compliance/masking/classified-columns.js';
import { projectSecret } from '../../compliance/project-secret.js';
import { compareProfiles, featureThresholds, reportDrift, type DriftComparison } from './report-drift.js';

export interface DatasetDriftOptions {
  readonly datasetId: string;
  /** Served rows of this service only; default every service. */
  readonly service?: string;
  /** Served at or after / before (epoch ms). */
  readonly since?: number;
  readonly until?: number;
  /** Non-null served values a feature needs to be scored (see `MIN_VALUES`). */
  readonly minValues?: number;
}

export interface DatasetDriftReport extends DriftComparison {
  readonly datasetId: string;
  readonly servedRows: number;
  /** Sampled rows the serving log dropped in requests that overlap the range (see `serving-log-drops.ts`): the served profile is of a sample with holes. */
  readonly droppedRows: number;
  /** True when `droppedRows` > 0: the serving log's drop records say sampled rows of the range are missing (the one meaning, as in the skew report). */
  readonly incomplete: boolean;
  readonly drops: ServingLogDrops;
}

/** Served statuses whose value is not a served value (nothing answered it), left out of the served profile. */
const NOT_SERVED = new Set(['NOT_MATERIALIZED', 'ERROR']);

const SERVED_TABLE = '_sluice_drift_served';

const READERS: Readonly<Record<string, string>> = { parquet: 'read_parquet', csv: 'read_csv_auto', jsonl: 'read_json_auto' };

async function findDataset(ctx: SluiceContext, id: string): Promise<DatasetRecord> {
  const datasets = await ctx.metadata.listDatasets(100_000);
  const found = datasets.find((d) => d.id === id);
  if (!found) {
    const known = datasets.slice(0, 5).map((d) => d.id).join(', ');
    throw new NotFoundError('NOT_FOUND', `dataset "${id}" is not registered${known ? ` (newest: ${known})` : ''}; build one with "sluice dataset build" or pick an id from its manifest`);
  }
  return found;
}

/**
 * The profile of a training dataset's feature columns, computed once from its file, set-based
 * (see `profileRelation`), and kept in the drift store under `dataset:<id>`: a dataset id names
 * fixed contents, so the profile never goes stale.
 */
export async function datasetProfile(ctx: SluiceContext, project: Project, dataset: DatasetRecord): Promise<Profile> {
  const key = `dataset:${dataset.id}`;
  const cached = await ctx.metadata.drift.profile(key);
  if (cached) return cached.profile as Profile;
  const engine = await ctx.engine();
  const relation = `${READERS[dataset.format] ?? 'read_parquet'}(${readPath(dataset.path)})`;
  const columns = (await profiledColumns(engine, relation, dataset.features)).map((c) => ({ ...c, classified: isClassifiedFeatureColumn(project, c.name) }));
  const profile = await profileRelation(engine, relation, columns, { token: categoryToken(() => projectSecret(ctx.dataDir)) });
  await ctx.metadata.drift.saveProfile(key, profile, ctx.now());
  return profile;
}

/**
 * The profile of the values served for the reference's feature columns, set-based in DuckDB
 * over the serving log's rows (`servedRowsSql`, every line format): each feature's value cast as its
 * reference column is profiled (a number, or text). A value whose status says nothing answered
 * it (`NOT_MATERIALIZED`, `ERROR`), or a row that lacks the feature, counts as null.
 */
export async function servedProfile(ctx: SluiceContext, project: Project, files: readonly string[], reference: Profile, range: { readonly since?: number; readonly until?: number }): Promise<Profile> {
  if (files.length === 0) return { rows: 0, columns: {} };
  const engine = await ctx.engine();
  const columns = Object.entries(reference.columns).map(([feature, column]) => {
    const value = servedValueSql(feature);
    const status = servedStatusSql(feature);
    const typed = column.kind === 'numeric' ? `TRY_CAST(${value} AS DOUBLE)` : value;
    return `CASE WHEN coalesce(${status}, 'ERROR') IN (${[...NOT_SERVED].map(literal).join(', ')}) THEN NULL ELSE ${typed} END AS ${ident(feature)}`;
  });
  const servedAt = servedAtSql;
  const filters = [
    ...(range.since === undefined ? [] : [`${servedAt} >= ${Math.floor(range.since)}`]),
    ...(range.until === undefined ? [] : [`${servedAt} < ${Math.floor(range.until)}`]),
  ];
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${SERVED_TABLE} AS SELECT ${columns.join(', ')} FROM ${servedRowsSql(files)}${filters.length === 0 ? '' : ` WHERE ${filters.join(' AND ')}`}`);
  try {
    return await profileRelation(engine, SERVED_TABLE, Object.entries(reference.columns).map(([name, c]) => ({ name, kind: c.kind, classified: isClassifiedFeatureColumn(project, name) })), { token: categoryToken(() => projectSecret(ctx.dataDir)) });
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${SERVED_TABLE}`);
  }
}

/**
 * Drift of served values from a training dataset: the dataset's profile (cached by id) against a
 * profile of the values the serving log sampled (one service, a time range), scored per feature
 * with its view's thresholds; results are stored and each scored feature is reported as the
 * health condition `drift` of `feature:<view>__<feature>` (firing over its warn threshold,
 * cleared under it).
 *
 * @example
 * const report = await datasetDrift(platform, project, { datasetId: 'ds_1f2e', service: 'fraud_v1' });
 */
export async function datasetDrift(ctx: SluiceContext, project: Project, options: DatasetDriftOptions): Promise<DatasetDriftReport> {
  const dataset = await findDataset(ctx, options.datasetId);
  const reference = await datasetProfile(ctx, project, dataset);
  const range = { ...(options.since === undefined ? {} : { since: options.since }), ...(options.until === undefined ? {} : { until: options.until }) };
  const files = await servingLogFiles(ctx.dataDir, { ...(options.service === undefined ? {} : { service: options.service }), ...range });
  const current = await servedProfile(ctx, project, files, reference, range);
  const drops = await servingLogDrops(ctx.dataDir, { ...(options.service === undefined ? {} : { service: options.service }), ...range });
  const comparison = compareProfiles(`dataset:${dataset.id}`, reference, current, featureThresholds(project), ctx.now(), {
    ...(options.minValues === undefined ? {} : { minValues: options.minValues }),
    details: { service: options.service ?? null, servedRows: current.rows, ...(drops.rows > 0 ? { droppedRows: drops.rows } : {}) },
  });
  await reportDrift(ctx, comparison.results, (r) => `feature:${r.feature}`, (r) => `feature ${r.feature} (served${options.service && options.service !== UNNAMED_SERVICE ? ` by ${options.service}` : ''}, against dataset ${dataset.id})`);
  return { datasetId: dataset.id, servedRows: current.rows, droppedRows: drops.rows, incomplete: drops.rows > 0, drops, ...comparison };
}
