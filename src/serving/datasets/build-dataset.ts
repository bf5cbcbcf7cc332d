import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import type { ColumnType, Project, RequestFunctions } from '../../definitions/index.js';
import { didYouMean, featureColumn, modelNameProblem, resolveFeatures } from '../../definitions/index.js';
import { checkDatasetResidency, type DatasetResidency } from '../../compliance/residency/dataset-residency.js';
import { ConflictError, ValidationError } from '../../errors.js';
import type { SluiceContext } from '../../context.js';
import { fileSha256 } from '../../ingest/file-hash.js';
import { readableInputFormat, type InputFormat } from '../../ingest/ingest-file.js';
import { cleanUpAfterStop, trackRun } from '../../orchestration/track-run.js';
import { viewPlan } from '../../processing/feature-plan.js';
import { finishSweep, sortPoints, startSweep, type SortedPoints, type StartedSweep } from '../../processing/point-in-time.js';
import { viewEventsSql } from '../../processing/view-events-sql.js';
import { ident, literal, type SqlEngine } from '../../storage/engine/sql-engine.js';
import { publishFile, writeFileAtomic } from '../../storage/lake/atomic-file.js';
import { testPause } from '../../orchestration/test-pause.js';
import { isoTimestampSql, looksLikeEpochSeconds, type EpochUnit } from '../../time/index.js';
import { datasetIdOf, type DatasetContent } from './dataset-id.js';
import { datasetRecord, pinSnapshots } from './dataset-registry.js';
import { commitAcknowledged } from '../../streaming/lake-committer.js';
import { checkSpineReadable, loadSpineSql, readingSpine, SPINE_KEY, SPINE_PREFIX, SPINE_ROW, SPINE_T, spineKeyPartSql, spineReaderSql } from './load-spine-sql.js';
import { computeRequestViewColumns } from './request-view-columns.js';
import { spineEpochSql } from './spine-timestamp-sql.js';
import { dropErasedSpineRows, purgeHistory, rebuildDifferences, snapshotRewritesOf } from './dataset-history.js';
import { badSpineRowsError, checkSpineFirstLine, checkSpineHeader, checkSpineKeyTypes, SPINE_FILE_HINT, spineHeaderNames, spineTextSql } from './spine-columns.js';
import type { DatasetPurge } from '../../storage/metadata/metadata-store.js';
import { projectSecret } from '../../compliance/project-secret.js';
import type { MaskMethod } from '../../definitions/index.js';
import type { Principal } from '../../compliance/principal.js';
import { authorizeDatasetRead } from '../../compliance/access/authorize-dataset-read.js';
import { datasetMasking, SYSTEM_PRINCIPAL } from '../../compliance/masking/dataset-masking.js';

export interface BuildDatasetOptions {
  readonly spine: string;
  readonly out: string;
  readonly service?: string;
  readonly features?: readonly string[];
  /** The spine's timestamp column; default `ts`. */
  readonly timestampColumn?: string;
  /**
   * The unit of integer spine timestamps; default `ms`. Without it, values that read as epoch
   * seconds (see `looksLikeEpochSeconds`) are refused rather than silently misread.
   */
  readonly timestampUnit?: EpochUnit;
  /** Replace spine columns named like an output feature column instead of refusing the build. */
  readonly replaceColumns?: boolean;
  /**
   * Stops the build (its job's timeout, a stopping scheduler): its publish (the rename of the
   * staged file) is its commit point. Stopped before it, nothing is published; past it, the
   * manifest and the dataset's record are written as for any build.
   */
  readonly signal?: AbortSignal;
  /**
   * The snapshot to read per source (source name to snapshot id; null: read the source as
   * empty), instead of each source's latest snapshot. Unlisted sources are pinned to their
   * latest snapshot when the build starts, so every view of one source sees the same snapshot.
   */
  readonly snapshots?: Readonly<Record<string, string | null>>;
  /**
   * Compute each row from the events Sluice knew before the row's time (`ts < t` and
   * `known_at < t`: what serving could have answered at t, late data included once known),
   * instead of every event before it (`ts < t`, the default: event time).
   */
  readonly asKnown?: boolean;
  /** The functions of request views; default the context's (the project's `sluice.config.ts`, checked against the registry). */
  readonly requestFunctions?: RequestFunctions;
  /** The model the dataset trains: recorded on the dataset (manifest and record), a `model:<name>` node in lineage; not part of the dataset id. */
  readonly model?: string;
  /** Called as the stages (the spine, each view, the output) complete. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Who the dataset is built for: classified columns are masked for its roles (see docs/compliance-masking.md). Default a principal with no role (`system`). */
  readonly principal?: Principal;
  /** Mask also as these roles would see it (`--as analyst`): each column the stricter of the two. */
  readonly asRoles?: readonly string[];
  /** The project whose masking rules and classification apply; default `project` (a rebuild from a manifest passes the current one, not the one it was built with). */
  readonly maskingProject?: Project;
  /** The output's region and who builds it, for the residency check (see `checkDatasetResidency`). */
  readonly residency?: DatasetResidency;
  /** The manifest this build rebuilds (`rebuildDataset`): its `purges` are kept, and the new manifest's `rebuildOf` says how the two differ. */
  readonly rebuilding?: DatasetManifest;
}

/** What the manifest beside a dataset records. Same inputs, same `datasetId`. */
export interface DatasetManifest {
  readonly datasetId: string;
  readonly path: string;
  readonly format: string;
  readonly rowCount: number;
  readonly spine: { readonly path: string; readonly sha256: string; readonly timestampColumn: string; readonly timestampUnit?: EpochUnit; readonly joinKeys: readonly string[] };
  /** Set when spine columns named like output columns were replaced (`replaceColumns`). */
  readonly replaceColumns?: boolean;
  /** Set when rows were computed from the events known before their time (`asKnown`). */
  readonly asKnown?: boolean;
  /** The model the dataset was built for (`--model`), when given. */
  readonly model?: string;
  readonly features: readonly string[];
  readonly definitions: Readonly<Record<string, string>>;
  readonly snapshots: Readonly<Record<string, string | null>>;
  readonly createdAt: string;
  readonly timing: { readonly totalMs: number };
  /** With request views: per output column whose function threw or returned the wrong type on some rows (null there), how many and the first reason. */
  readonly requestErrors?: Readonly<Record<string, { readonly rows: number; readonly first: string }>>;
  /** Per feature column, how many rows hold null because the value is outside the float64 range (a sum past ±1.8e308; see docs/semantics.md); absent when none. */
  readonly overflows?: Readonly<Record<string, number>>;
  /** Columns masked for the principal it was built for, and how (absent: none); part of the dataset id. */
  readonly masked?: Readonly<Record<string, MaskMethod>>;
  /**
   * Snapshots read that retention or erasure rewrote since they were committed (ids unchanged,
   * rows removed): what a reproducibility check reads instead of failing on a changed row count.
   */
  readonly snapshotRewrites?: readonly { readonly snapshotId: string; readonly reason: string; readonly at: string; readonly rowsBefore: number; readonly rowsAfter: number }[];
  /** Spine rows left out because their subject is erased (see `dropErasedSpineRows`); absent when none. With `snapshotRewrites`, part of the dataset id. */
  readonly erasedRows?: number;
  /** Removals (erasure, retention) that touched this dataset or the one it replaced or rebuilds, oldest first: rewritten without rows, or flagged (tainted). */
  readonly purges?: readonly DatasetPurge[];
  /** Set on a rebuild from a manifest: the dataset rebuilt, and why this one differs from it (empty: the same dataset). */
  readonly rebuildOf?: { readonly datasetId: string; readonly differences: readonly string[] };
}

/** A feature's value as a text format (CSV, JSONL) writes it: timestamps in ISO-8601, float32 vectors as the doubles they widen to (as served online). */
function textOutputSql(feature: { readonly valueType: ColumnType }, typed: string, textOutput: boolean): string {
  if (!textOutput) return typed;
  if (feature.valueType === 'timestamp') return `(${isoTimestampSql(typed)})`;
  return feature.valueType.startsWith('float32[') ? `${typed}::DOUBLE[]` : typed;
}

/** Loads the spine into table `spine`, checking its columns first; returns the user columns to output, with the SQL type the spine's reader gives each. */
async function loadSpine(engine: SqlEngine, options: BuildDatasetOptions, format: InputFormat, joinKeys: readonly string[], keyTypes: Readonly<Record<string, ColumnType>>, timestampColumn: string, outputColumns: readonly string[], requestFields: readonly string[]): Promise<{ name: string; sqlType: string }[]> {
  const spineKeys = [...joinKeys, timestampColumn];
  checkSpineReadable(options.spine, format);
  const header = spineHeaderNames(options.spine, format);
  checkSpineFirstLine(options.spine, header, [...spineKeys, ...requestFields]);
  checkSpineHeader(options.spine, header);
  const reader = spineReaderSql(options.spine, format, header);
  const described = await readingSpine(options.spine, format, () => engine.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${reader}`), header);
  const columns = described.map((r) => r.column_name);
  for (const column of spineKeys) {
    if (!columns.includes(column)) {
      throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine} has no column "${column}"${didYouMean(column, columns)} (columns: ${columns.join(', ')})${column === timestampColumn ? '; name the timestamp column with --timestamp-column' : ''}`);
    }
  }
  const missingField = requestFields.find((f) => !columns.includes(f));
  if (missingField !== undefined) throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine} has no column "${missingField}", a request field of the requested request views${didYouMean(missingField, columns)}; add it (one value per row, as a request would send it)`);
  const reserved = columns.find((c) => c.toLowerCase().startsWith(SPINE_PREFIX));
  if (reserved) throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine}: column "${reserved}" uses the reserved prefix "${SPINE_PREFIX}"; rename it`);
  const outputs = new Map(outputColumns.map((c) => [c.toLowerCase(), c]));
  const colliding = columns.filter((c) => outputs.has(c.toLowerCase()) && !spineKeys.includes(c));
  if (colliding.length > 0 && !options.replaceColumns) {
    const pairs = colliding.map((c) => `"${c}" (spine) and "${outputs.get(c.toLowerCase())}" (feature)`).join(', ');
    throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine}: column ${pairs} would collide in the output; rename the spine column, or pass --replace-columns to replace it with the computed feature`);
  }
  for (const key of spineKeys) {
    if (outputs.has(key.toLowerCase())) throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine}: column "${key}" is both a spine key and the feature column "${outputs.get(key.toLowerCase())}"; rename it`);
  }
  const unit = options.timestampUnit ?? 'ms';
  const keys = joinKeys.map((column) => ({ column, type: keyTypes[column]!, sqlType: described.find((d) => d.column_name === column)!.column_type }));
  await checkSpineKeyTypes(engine, options.spine, reader, keys);
  const timestampType = described.find((d) => d.column_name === timestampColumn)!.column_type;
  await readingSpine(options.spine, format, () => engine.run(`CREATE OR REPLACE TEMP TABLE spine AS ${loadSpineSql(reader, keys, timestampColumn, unit, timestampType)}`), header);
  const bad = await badSpineRowsError(engine, options.spine, keys.map((k) => ({ column: k.column, sql: spineKeyPartSql(k), type: k.type })), timestampColumn, { row: SPINE_ROW, key: SPINE_KEY, t: SPINE_T });
  if (bad) throw bad;
  if (options.timestampUnit === undefined) {
    const [{ t }] = (await engine.all<{ t: number | null }>(
      `SELECT min(${SPINE_T}) FILTER (WHERE ${spineEpochSql(ident(timestampColumn), timestampType)} IS NOT NULL AND abs(${SPINE_T}) BETWEEN 100000000 AND 99999999999) AS t FROM spine`,
    )) as [{ t: number | null }];
    if (t !== null && looksLikeEpochSeconds(t)) {
      throw new ValidationError('VALIDATION_FAILED', `spine ${options.spine}: integer timestamps in "${timestampColumn}" (e.g. ${t}) look like epoch seconds; pass --timestamp-unit s (or --timestamp-unit ms if they really are milliseconds)`);
    }
  }
  const types = new Map(described.map((d) => [d.column_name, d.column_type]));
  return columns.filter((c) => !(options.replaceColumns && outputs.has(c.toLowerCase()) && !spineKeys.includes(c))).map((name) => ({ name, sqlType: types.get(name)! }));
}

/**
 * Builds a point-in-time-correct training dataset: every spine row, in order, with all spine
 * columns exactly as given, then one column per feature named `<view>__<feature>`, each computed
 * only from events before the row's timestamp (one sweep per view, see `computePointInTime`);
 * with `asKnown`, only from events both before it and known to Sluice before it.
 * Writes the file atomically and a manifest beside it (`<out>.manifest.json`).
 *
 * @example
 * await buildDataset(ctx, project, { spine: 'labels.csv', service: 'fraud_v1', out: 'train.parquet' });
 */
export async function buildDataset(ctx: SluiceContext, project: Project, options: BuildDatasetOptions): Promise<DatasetManifest> {
  const started = performance.now();
  const modelProblem = options.model === undefined ? undefined : modelNameProblem(options.model);
  if (modelProblem) throw new ValidationError('VALIDATION_FAILED', `--model: ${modelProblem}`);
  const resolved = resolveFeatures(project, options);
  const timestampColumn = options.timestampColumn ?? 'ts';
  const functions = resolved.requests.length === 0 ? new Map() : (options.requestFunctions ?? (await ctx.requestFunctions?.(project)) ?? new Map());
  const requestFunctions = resolved.requests.map(({ view }) => {
    const fns = functions.get(view.name);
    if (!fns) throw new ConflictError('CONFLICT', `request view "${view.name}": its functions are not loaded; build the dataset with "sluice dataset build" in the project's directory (sluice.config.ts defines them)`);
    return fns;
  });
  const spineFormat = readableInputFormat(options.spine, 'spine file', `a spine needs ${SPINE_FILE_HINT}`);
  const outExt = extname(options.out).toLowerCase();
  const outFormat = outExt === '.parquet' ? 'parquet' : outExt === '.csv' ? 'csv' : outExt === '.jsonl' ? 'jsonl' : undefined;
  if (!outFormat) throw new ValidationError('UNSUPPORTED_FORMAT', `output ${options.out}: use a .parquet, .csv or .jsonl extension`);
  if (samePath(options.out, options.spine)) throw new ValidationError('VALIDATION_FAILED', `output ${options.out} is the spine file; write the dataset to another path`);
  if (options.principal) await authorizeDatasetRead(ctx, options.maskingProject ?? project, options.principal, options);
  await checkDatasetResidency(ctx, project, options);
  // Acknowledged events only in the log (a server killed before its lake commit) are committed
  // first, so the pinned snapshots hold every event online serves.
  await commitAcknowledged(ctx, project, resolved.byView.map((v) => v.view.source).filter((s) => options.snapshots?.[s] === undefined));
  // One snapshot per source for the whole build, read before any work starts.
  const pinned = await pinSnapshots(ctx.metadata, resolved.byView.map((v) => v.view.source), options.snapshots);
  const snapshots = Object.fromEntries([...pinned].map(([source, snapshot]) => [source, snapshot?.id ?? null]));
  return trackRun(ctx, 'dataset_build', { spine: resolve(options.spine), out: resolve(options.out), features: resolved.columns, asKnown: options.asKnown === true, ...(options.model === undefined ? {} : { model: options.model }) }, async () => {
    const engine = await ctx.engine();
    const stages = resolved.byView.length + 2 + (resolved.requests.length > 0 ? 1 : 0);
    const temporary = ['spine', 'spine_points'];
    const masking = datasetMasking(ctx, options.maskingProject ?? project, options.principal ?? SYSTEM_PRINCIPAL, options.asRoles);
    const unmask = await masking.prepare(engine);
    try {
      const requestFields = [...new Set(resolved.requests.flatMap((r) => Object.keys(r.view.request)))];
      const spineColumns = await loadSpine(engine, options, spineFormat, resolved.joinKeys, resolved.byView[0]!.view.columnTypes, timestampColumn, resolved.columns, requestFields);
      const erasedRows = await dropErasedSpineRows(ctx, engine, project, spineColumns.map((c) => c.name), resolved.joinKeys);
      // One point per (key, ts), evaluated once; `_rows` counts the spine rows (output cells) it stands for.
      await engine.run(`CREATE OR REPLACE TEMP TABLE spine_points AS SELECT _key, _t, _rows, row_number() OVER () - 1 AS _pid FROM (SELECT ${SPINE_KEY} AS _key, ${SPINE_T} AS _t, count(*) AS _rows FROM spine GROUP BY ALL)`);
      // Sorted once, for every view's sweep.
      const sorted: SortedPoints = await sortPoints(engine, 'spine_points', { rows: true });
      temporary.push(sorted.kids);
      options.onProgress?.(1, stages);
      const definitions: Record<string, string> = {};
      const selects = new Map<string, string>();
      const joins: string[] = [];
      const typedByView: string[][] = [];
      const overflowsByView: number[][] = [];
      const overflows: Record<string, number> = {};
      for (const { view } of resolved.byView) definitions[view.name] = view.hash;
      const startView = (i: number): StartedSweep => {
        const { view, features } = resolved.byView[i]!;
        const source = project.sources.find((s) => s.name === view.source)!;
        const files = (pinned.get(source.name)?.files ?? []).map((f) => ctx.lake.resolve(f));
        const plan = viewPlan(view);
        return startSweep(engine, plan, features, viewEventsSql(plan, source, files), sorted, options.asKnown === true);
      };
      // Views swept fewest events first, each view's query started as the view before it starts
      // its sweep: DuckDB sorts the next view's events on the other core meanwhile.
      const rows = (i: number) => pinned.get(resolved.byView[i]!.view.source)?.rowCount ?? 0;
      const order = resolved.byView.map((_, i) => i).sort((a, b) => rows(a) - rows(b) || a - b);
      let ahead: StartedSweep | undefined = order.length > 0 ? startView(order[0]!) : undefined;
      try {
        for (const [done, i] of order.entries()) {
          const current = ahead!;
          // Once this view's events are sorted (its first chunk is in): one sort at a time.
          await current.first.catch(() => undefined);
          ahead = done + 1 < order.length ? startView(order[done + 1]!) : undefined;
          temporary.push(`pit_${i}`);
          typedByView[i] = await finishSweep(engine, current, `pit_${i}`, `v${i}`, (overflowsByView[i] = []));
          options.onProgress?.(2 + done, stages);
        }
      } finally {
        await ahead?.cancel();
      }
      for (const [i, { view, features }] of resolved.byView.entries()) {
        features.forEach((feature, f) => {
          if (overflowsByView[i]![f]) overflows[featureColumn({ view: view.name, feature: feature.name })] = overflowsByView[i]![f]!;
          selects.set(featureColumn({ view: view.name, feature: feature.name }), textOutputSql(feature, masking.feature(view.name, feature, typedByView[i]![f]!), outFormat !== 'parquet'));
        });
      }
      let requestErrors: DatasetManifest['requestErrors'];
      if (resolved.requests.length > 0) {
        temporary.push('request_out');
        const computed = await computeRequestViewColumns(engine, resolved.requests, requestFunctions, resolved.byView, typedByView, 'request_out', 'r', () => projectSecret(ctx.dataDir), spineFormat === 'csv' ? 'text' : 'typed');
        for (const { view, features } of resolved.requests) {
          definitions[view.name] = view.hash;
          for (const feature of features) {
            const column = featureColumn({ view: view.name, feature: feature.name });
            selects.set(column, textOutputSql(feature, masking.feature(view.name, feature, computed.selects.get(column)!), outFormat !== 'parquet'));
          }
        }
        joins.push(`LEFT JOIN request_out r ON r._row = s.${SPINE_ROW}`);
        requestErrors = computed.errors;
        options.onProgress?.(stages - 1, stages);
      }
      // Every view's results are in the sorted points' order: side by side by position, joined to the spine once.
      const side = resolved.byView.map((_, i) => `pit_${i} v${i}`);
      joins.unshift(`LEFT JOIN ${side.length === 1 ? side[0] : `(${side.join(' POSITIONAL JOIN ')})`} ON v0._pid = p._pid`);
      const keyView = resolved.byView[0]!.view;
      // A JSONL column of mixed JSON types as given: JSON values in JSONL, their text in CSV and Parquet (not JSON text, a string in quotes).
      const spineOutput = ({ name, sqlType }: { name: string; sqlType: string }) => (outFormat === 'jsonl' ? `s.${ident(name)}` : `${spineTextSql(`s.${ident(name)}`, sqlType)} AS ${ident(name)}`);
      const output = [...spineColumns.map((c) => (resolved.joinKeys.includes(c.name) ? `${masking.key(keyView.name, c.name, keyView.columnTypes[c.name]!, `s.${ident(c.name)}`)} AS ${ident(c.name)}` : spineOutput(c))), ...resolved.columns.map((c) => `${selects.get(c)} AS ${ident(c)}`)];
      const query =
        `SELECT ${output.join(', ')} FROM spine s JOIN spine_points p ON p._key = s.${SPINE_KEY} AND p._t = s.${SPINE_T} ` +
        `${joins.join(' ')} ORDER BY s.${SPINE_ROW}`;
      const [{ n }] = (await engine.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM spine')) as [{ n: number }];
      // The spine's columns as the file holds them (a CSV spine's are text), for the run's lineage event.
      const described = await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE ${query}`);
      const spineTypes = Object.fromEntries(described.filter((d) => spineColumns.some((c) => c.name === d.column_name)).map((d) => [d.column_name, d.column_type]));
      const unit = options.timestampUnit === undefined ? {} : { timestampUnit: options.timestampUnit };
      const replace = options.replaceColumns ? { replaceColumns: true } : {};
      const asKnown = options.asKnown ? { asKnown: true } : {};
      const masked = masking.masked();
      const rewrites = await snapshotRewritesOf(ctx, snapshots);
      // What erasure and retention changed of the inputs (absent when nothing did): a rebuild over rewritten snapshots is another dataset.
      const changed = { ...(rewrites.length === 0 ? {} : { snapshotRewrites: rewrites }), ...(erasedRows === 0 ? {} : { erasedRows }) };
      // Everything the manifest states about the values, from which the id is derived (see `datasetIdOf`).
      const content: DatasetContent = {
        format: outFormat,
        spine: { path: options.spine, sha256: await fileSha256(options.spine), timestampColumn, ...unit, joinKeys: resolved.joinKeys },
        ...replace,
        ...asKnown,
        features: resolved.columns,
        definitions,
        snapshots,
        ...(requestErrors === undefined ? {} : { requestErrors }),
        ...(Object.keys(overflows).length === 0 ? {} : { overflows }),
        ...(masked ? { masked } : {}),
        ...changed,
      };
      const datasetId = datasetIdOf(content);
      await mkdir(dirname(options.out) || '.', { recursive: true });
      const copyFormat = outFormat === 'parquet' ? 'FORMAT PARQUET, COMPRESSION ZSTD' : outFormat === 'csv' ? 'FORMAT CSV, HEADER' : 'FORMAT JSON';
      await publishFile(options.out, async (staging) => {
        await engine.run(`COPY (${query}) TO ${literal(staging)} (${copyFormat})`);
        // Audited before it is published, as a served answer is before it is returned: a build stopped after the rename leaves its record.
        await masking.audit(datasetId, n);
        await testPause('dataset.staged');
        // The publish (the rename) is the build's commit point: stopped before it, nothing is published.
        options.signal?.throwIfAborted();
      });
      options.onProgress?.(stages, stages);
      const purges = await purgeHistory(ctx, options.out, options.rebuilding);
      const manifest: DatasetManifest = {
        datasetId,
        path: options.out,
        rowCount: n,
        ...content,
        ...(options.model === undefined ? {} : { model: options.model }),
        createdAt: new Date(ctx.now()).toISOString(),
        timing: { totalMs: Math.round(performance.now() - started) },
        ...(purges.length === 0 ? {} : { purges }),
        ...(options.rebuilding ? { rebuildOf: { datasetId: options.rebuilding.datasetId, differences: rebuildDifferences(options.rebuilding, { ...content, datasetId }) } } : {}),
      };
      await writeFileAtomic(`${options.out}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
      await testPause('dataset.manifest-written');
      await ctx.metadata.recordDataset(datasetRecord(manifest, ctx.now()));
      return { result: manifest, stats: { datasetId: manifest.datasetId, rows: n, spineColumns: spineTypes, ms: manifest.timing.totalMs, ...(options.model === undefined ? {} : { model: options.model }) } };
    } finally {
      await cleanUpAfterStop(unmask);
      for (const table of temporary) await cleanUpAfterStop(() => engine.run(`DROP TABLE IF EXISTS ${table}`));
    }
  }, project);
}

/** Whether `out` names the existing file `spine` (by any path: symbolic or hard links, another case on a case-insensitive file system). */
function samePath(out: string, spine: string): boolean {
  const a = statSync(out, { throwIfNoEntry: false });
  const b = statSync(spine, { throwIfNoEntry: false });
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}
