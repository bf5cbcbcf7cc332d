import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import { NotFoundError } from '../../errors.js';
import { literal } from '../../storage/engine/sql-engine.js';
import type { DatasetRecord } from '../../storage/metadata/metadata-store.js';
import { readServingLog } from '../serving-log/read-serving-log.js';
import { UNNAMED_SERVICE } from '../serving-log/served-row.js';
import { profileValues, type ColumnProfile, type Profile } from './column-profile.js';
import { profiledColumns, profileRelation } from './profile-sql.js';
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
}

/** Served statuses whose value is not a served value (nothing answered it), left out of the served profile. */
const NOT_SERVED = new Set(['NOT_MATERIALIZED', 'ERROR']);

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
export async function datasetProfile(ctx: SluiceContext, dataset: DatasetRecord): Promise<Profile> {
  const key = `dataset:${dataset.id}`;
  const cached = await ctx.metadata.drift.profile(key);
  if (cached) return cached.profile as Profile;
  const engine = await ctx.engine();
  const relation = `${READERS[dataset.format] ?? 'read_parquet'}(${literal(dataset.path)})`;
  const profile = await profileRelation(engine, relation, await profiledColumns(engine, relation, dataset.features));
  await ctx.metadata.drift.saveProfile(key, profile, ctx.now());
  return profile;
}

/** The profile of the served values of `columns` (kinds as the reference's) in served rows. */
export function servedProfile(rows: readonly { readonly values: Readonly<Record<string, unknown>>; readonly statuses: Readonly<Record<string, string>> }[], reference: Profile): Profile {
  const columns: Record<string, ColumnProfile> = {};
  for (const [feature, ref] of Object.entries(reference.columns)) {
    const values: unknown[] = [];
    for (const row of rows) {
      if (!(feature in row.values) || NOT_SERVED.has(row.statuses[feature] ?? '')) continue;
      values.push(row.values[feature]);
    }
    if (values.length > 0) columns[feature] = profileValues(values, ref.kind);
  }
  return { rows: rows.length, columns };
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
  const reference = await datasetProfile(ctx, dataset);
  const rows = await readServingLog(ctx.dataDir, {
    ...(options.service === undefined ? {} : { service: options.service }),
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
  });
  const current = servedProfile(rows, reference);
  const comparison = compareProfiles(`dataset:${dataset.id}`, reference, current, featureThresholds(project), ctx.now(), {
    ...(options.minValues === undefined ? {} : { minValues: options.minValues }),
    details: { service: options.service ?? null, servedRows: rows.length },
  });
  await reportDrift(ctx, comparison.results, (r) => `feature:${r.feature}`, (r) => `feature ${r.feature} (served${options.service && options.service !== UNNAMED_SERVICE ? ` by ${options.service}` : ''}, against dataset ${dataset.id})`);
  return { datasetId: dataset.id, servedRows: rows.length, ...comparison };
}
