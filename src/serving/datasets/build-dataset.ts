import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import type { Feature, Project } from '../../definitions/index.js';
import { contentHash, featureColumn, resolveFeatures } from '../../definitions/index.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { SluiceContext } from '../../context.js';
import { fileSha256 } from '../../ingest/file-hash.js';
import { inputFormat } from '../../ingest/ingest-file.js';
import { trackRun } from '../../orchestration/track-run.js';
import { computePointInTime } from '../../processing/point-in-time.js';
import { viewEventsSql } from '../../processing/view-events-sql.js';
import { ident, literal } from '../../storage/engine/sql-engine.js';
import { commitFile, temporaryPath, writeFileAtomic } from '../../storage/lake/atomic-file.js';
import { datasetRecord, pinSnapshots } from './dataset-registry.js';
import { loadSpineSql } from './load-spine-sql.js';

export interface BuildDatasetOptions {
  readonly spine: string;
  readonly out: string;
  readonly service?: string;
  readonly features?: readonly string[];
  /** The spine's timestamp column; default `ts`. */
  readonly timestampColumn?: string;
  /**
   * The snapshot to read per source (source name to snapshot id; null: read the source as
   * empty), instead of each source's latest snapshot. Unlisted sources are pinned to their
   * latest snapshot when the build starts, so every view of one source sees the same snapshot.
   */
  readonly snapshots?: Readonly<Record<string, string | null>>;
  /** Called as the stages (the spine, each view, the output) complete. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What the manifest beside a dataset records. Same inputs, same `datasetId`. */
export interface DatasetManifest {
  readonly datasetId: string;
  readonly path: string;
  readonly format: string;
  readonly rowCount: number;
  readonly spine: { readonly path: string; readonly sha256: string; readonly timestampColumn: string; readonly joinKey: string };
  readonly features: readonly string[];
  readonly definitions: Readonly<Record<string, string>>;
  readonly snapshots: Readonly<Record<string, string | null>>;
  readonly createdAt: string;
  readonly timing: { readonly totalMs: number };
}

function outputValueSql(feature: Feature, column: string, textOutput: boolean): string {
  switch (feature.valueType) {
    case 'timestamp':
      return textOutput ? `strftime(epoch_ms(${column}::BIGINT), '%Y-%m-%dT%H:%M:%S.%gZ')` : `epoch_ms(${column}::BIGINT)`;
    case 'int64':
      return `${column}::BIGINT`;
    default:
      return column;
  }
}

/**
 * Builds a point-in-time-correct training dataset: every spine row, in order, with all spine
 * columns, then one column per feature named `<view>__<feature>`, each computed only from events
 * before the row's timestamp. Set-based DuckDB SQL over committed lake snapshots. Writes the
 * file atomically and a manifest beside it (`<out>.manifest.json`).
 *
 * @example
 * await buildDataset(ctx, project, { spine: 'labels.csv', service: 'fraud_v1', out: 'train.parquet' });
 */
export async function buildDataset(ctx: SluiceContext, project: Project, options: BuildDatasetOptions): Promise<DatasetManifest> {
  const started = performance.now();
  const resolved = resolveFeatures(project, options);
  const timestampColumn = options.timestampColumn ?? 'ts';
  if (!existsSync(options.spine)) throw new NotFoundError('NOT_FOUND', `spine file ${options.spine} does not exist`);
  const spineFormat = inputFormat(options.spine);
  const outExt = extname(options.out).toLowerCase();
  const outFormat = outExt === '.parquet' ? 'parquet' : outExt === '.csv' ? 'csv' : outExt === '.jsonl' ? 'jsonl' : undefined;
  if (!outFormat) throw new ValidationError('UNSUPPORTED_FORMAT', `output ${options.out}: use a .parquet, .csv or .jsonl extension`);
  // One snapshot per source for the whole build, read before any work starts.
  const pinned = await pinSnapshots(ctx.metadata, resolved.byView.map((v) => v.view.source), options.snapshots);
  const snapshots = Object.fromEntries([...pinned].map(([source, snapshot]) => [source, snapshot?.id ?? null]));
  return trackRun(ctx, 'dataset_build', { spine: resolve(options.spine), out: resolve(options.out), features: resolved.columns }, async () => {
    const engine = await ctx.engine();
    const stages = resolved.byView.length + 2;
    await engine.run(`CREATE OR REPLACE TEMP TABLE spine AS ${loadSpineSql(options.spine, spineFormat, resolved.joinKey, timestampColumn)}`);
    const spineColumns = (await engine.all<{ column_name: string }>('DESCRIBE spine')).map((r) => r.column_name).filter((c) => !['_key', '_t', '_row'].includes(c));
    for (const column of [resolved.joinKey, timestampColumn]) {
      if (!spineColumns.includes(column)) throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine} has no column "${column}" (columns: ${spineColumns.join(', ')})${column === timestampColumn ? '; name it with --timestamp-column' : ''}`);
    }
    const bad = await engine.all<{ _row: number }>(`SELECT _row FROM spine WHERE _t IS NULL OR _key IS NULL ORDER BY _row LIMIT 5`);
    if (bad.length > 0) {
      throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine}: row(s) ${bad.map((b) => b._row).join(', ')} lack a valid "${resolved.joinKey}" or "${timestampColumn}" (ISO-8601 or epoch ms)`);
    }
    await engine.run('CREATE OR REPLACE TEMP TABLE spine_points AS SELECT _key, _t, row_number() OVER () - 1 AS _pid FROM (SELECT DISTINCT _key, _t FROM spine)');
    options.onProgress?.(1, stages);
    const definitions: Record<string, string> = {};
    const selects: string[] = [];
    const joins: string[] = [];
    const temporary: string[] = [];
    for (const [i, { view, features }] of resolved.byView.entries()) {
      const source = project.sources.find((s) => s.name === view.source)!;
      const snapshot = pinned.get(source.name);
      definitions[view.name] = view.hash;
      const files = (snapshot?.files ?? []).map((f) => ctx.lake.resolve(f));
      await engine.run(`CREATE OR REPLACE TEMP TABLE events_${i} AS SELECT * FROM (${viewEventsSql(view, source, files)}) WHERE _key IN (SELECT _key FROM spine_points)`);
      temporary.push(`events_${i}`, ...(await computePointInTime(engine, view, features, `events_${i}`, 'spine_points', `pit_${i}`)));
      options.onProgress?.(2 + i, stages);
      joins.push(`LEFT JOIN pit_${i} v${i} ON v${i}._key = s._key AND v${i}._t = s._t`);
      for (const feature of features) {
        const column = featureColumn({ view: view.name, feature: feature.name });
        selects.push(`${outputValueSql(feature, `v${i}.${ident(feature.name)}`, outFormat !== 'parquet')} AS ${ident(column)}`);
      }
    }
    const ordered = resolved.refs.map((ref) => ident(featureColumn(ref)));
    const query = `SELECT ${spineColumns.map((c) => `s.${ident(c)}`).join(', ')}, ${ordered.join(', ')} FROM (SELECT s.*, ${selects.join(', ')} FROM spine s ${joins.join(' ')}) s ORDER BY s._row`;
    await mkdir(dirname(options.out) || '.', { recursive: true });
    const staging = temporaryPath(options.out);
    const copyFormat = outFormat === 'parquet' ? 'FORMAT PARQUET, COMPRESSION ZSTD' : outFormat === 'csv' ? 'FORMAT CSV, HEADER' : 'FORMAT JSON';
    try {
      await engine.run(`COPY (${query}) TO ${literal(staging)} (${copyFormat})`);
      await commitFile(staging, options.out);
    } finally {
      await rm(staging, { force: true });
    }
    options.onProgress?.(stages, stages);
    const [{ n }] = (await engine.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM spine')) as [{ n: number }];
    for (const table of [...temporary, 'spine', 'spine_points']) await engine.run(`DROP TABLE IF EXISTS ${table}`);
    const spineHash = await fileSha256(options.spine);
    const identity = { spine: spineHash, timestampColumn, features: resolved.columns, definitions, snapshots, format: outFormat };
    const manifest: DatasetManifest = {
      datasetId: `ds_${contentHash(identity)}`,
      path: options.out,
      format: outFormat,
      rowCount: n,
      spine: { path: options.spine, sha256: spineHash, timestampColumn, joinKey: resolved.joinKey },
      features: resolved.columns,
      definitions,
      snapshots,
      createdAt: new Date(ctx.now()).toISOString(),
      timing: { totalMs: Math.round(performance.now() - started) },
    };
    await writeFileAtomic(`${options.out}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
    await ctx.metadata.recordDataset(datasetRecord(manifest, ctx.now()));
    return { result: manifest, stats: { datasetId: manifest.datasetId, rows: n, ms: manifest.timing.totalMs } };
  });
}
