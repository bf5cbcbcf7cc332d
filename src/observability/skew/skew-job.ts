import { randomUUID } from 'node:crypto';
import { featureColumn, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { ValidationError } from '../../errors.js';
import { trackRun } from '../../orchestration/track-run.js';
import { latestSnapshots } from '../../serving/latest-snapshots.js';
import type { FeatureSkew, SkewRun, SkewSkipReason } from '../../storage/metadata/skew-store.js';
import { toIso } from '../../time/index.js';
import { ServedRowsComparison } from './compare-served-rows.js';
import { servedRowBatches } from '../serving-log/read-serving-log.js';
import { servingLogDir } from '../serving-log/served-row.js';
import { servingLogDrops, type ServingLogDrops } from '../serving-log/serving-log-drops.js';
import type { Principal } from '../../compliance/principal.js';
import { projectSecret } from '../../compliance/project-secret.js';
import { auditMaskedRead } from '../../compliance/masking/audit-read.js';
import { SYSTEM_PRINCIPAL } from '../../compliance/masking/dataset-masking.js';
import { maskerFor } from '../../compliance/masking/masker.js';
import { maskingCatalog } from '../../compliance/masking/masking-catalog.js';
import { maskSkewExamples } from '../../compliance/masking/mask-skew.js';

export interface SkewJobOptions {
  /** One service's log; default every service's. */
  readonly service?: string;
  /** Rows served at or after this time (epoch ms); default from the start of the log. */
  readonly since?: number | null;
  /** Rows served before this time (epoch ms); default now. */
  readonly until?: number;
  /** A feature's `skew` condition fires when its mismatch rate is above this (0 to 1); default 0: any mismatch. */
  readonly maxMismatchRate?: number;
  /** Served rows read and compared at a time (memory is bounded by it); default `SERVED_ROWS_PER_BATCH`. */
  readonly batchRows?: number;
  /**
   * Who the report is for (`sluice skew`: the CLI principal): its examples are masked as an online
   * answer for them. What is stored (`metadata.skew`, the `skew` health condition) is masked for
   * the system principal (no role), whoever runs the job. Default: the system principal.
   */
  readonly principal?: Principal;
}

/** Why values are not compared, for people reading a report. */
export const SKIP_REASONS: Readonly<Record<SkewSkipReason, string>> = {
  STALE: 'served STALE (newer data was committed than its table held, or past its freshness SLA): the model saw a value known to be behind; fix the freshness, not the pipeline',
  NOT_MATERIALIZED: 'served NOT_MATERIALIZED: no table answered it, its value is null by definition',
  ERROR: "served ERROR: a request view's function failed",
  REQUEST_VIEW: 'a request view: its request values are not in the serving log',
  DEFINITION_CHANGED: "served by a table of another definition of its view than the registry's current one",
  UNKNOWN_FEATURE: 'not in the applied definitions any more',
  SNAPSHOT_UNAVAILABLE: 'the lake snapshot it reflected no longer exists',
};

export interface SkewReport extends SkewRun {
  /** Served rows read in the range (all services). */
  readonly servedRows: number;
  /** Log lines that could not be read (torn by a crash, or not served rows). */
  readonly unreadableLines: number;
  /**
   * Sampled rows the serving log dropped (buffer full, or a failed write) in requests that overlap
   * the range (see `serving-log-drops.ts`): the comparison is over a sample with holes, and a row
   * that was dropped may have been the one that differed.
   */
  readonly droppedRows: number;
  /** True when `droppedRows` > 0: the serving log's drop records say sampled rows of the range are missing (as in drift's report; unreadable lines are counted apart, in `unreadableLines`). */
  readonly incomplete: boolean;
  /** The drops in detail (how many for each reason, when, the errors of failed writes). */
  readonly drops: ServingLogDrops;
  readonly maxMismatchRate: number;
  /** Features (`<view>__<feature>`) whose mismatch rate, over every service, is above `maxMismatchRate`. */
  readonly unhealthy: readonly string[];
  /** For each reason values were skipped in this run, what it means. */
  readonly skipReasons: Readonly<Partial<Record<SkewSkipReason, string>>>;
}

/**
 * The skew job, as Chronon's consistency job: reads the sampled serving log (see `served-row.ts`)
 * of a service over `[since, until)` in bounded batches, recomputes every served value offline at its `asOf` with the
 * training-dataset machinery over the lake snapshots the served view reflected, and compares
 * them exactly as the server answers them (`servedForm`). Records the result per service and
 * feature (`metadata.skew`), and per feature a `skew` health condition (subject
 * `feature:<view>__<feature>`): firing, severity error, when its mismatch rate is above
 * `maxMismatchRate`; cleared when a run compares it and finds it within. Runs as the tracked job `skew`.
 *
 * @example
 * const report = await runSkewJob(ctx, project, { service: 'fraud_v1', since: Date.now() - 86_400_000 });
 * report.features.filter((f) => f.mismatches > 0);
 */
export async function runSkewJob(ctx: SluiceContext, project: Project, options: SkewJobOptions = {}): Promise<SkewReport> {
  const until = options.until ?? ctx.now();
  const since = options.since ?? null;
  const threshold = options.maxMismatchRate ?? 0;
  if (!(threshold >= 0 && threshold <= 1)) throw new ValidationError('VALIDATION_FAILED', `skew: the maximum mismatch rate must be from 0 to 1, got ${threshold}; e.g. 0.01 for 1%`);
  if (since !== null && since >= until) throw new ValidationError('VALIDATION_FAILED', `skew: --since ${toIso(since)} is not before --until ${toIso(until)}; give a range that holds served rows`);
  const runId = `skew_${randomUUID()}`;
  const params = { skewRun: runId, servingLog: servingLogDir(ctx.dataDir, options.service), ...(options.service === undefined ? {} : { service: options.service }), since: since === null ? null : toIso(since), until: toIso(until), maxMismatchRate: threshold };
  return trackRun(ctx, 'skew', params, async () => {
    const latest = await latestSnapshots(ctx.metadata, project);
    const comparisons = new Map<string, ServedRowsComparison>();
    let servedRows = 0;
    let unreadableLines = 0;
    for await (const batch of servedRowBatches(ctx.dataDir, { ...(options.service === undefined ? {} : { service: options.service }), ...(since === null ? {} : { since }), until }, options.batchRows)) {
      let comparison = comparisons.get(batch.service);
      if (!comparison) comparisons.set(batch.service, (comparison = new ServedRowsComparison(ctx, project, batch.service, latest)));
      await comparison.add(batch.rows);
      servedRows += batch.rows.length;
      unreadableLines += batch.unreadable;
    }
    const drops = await servingLogDrops(ctx.dataDir, { ...(options.service === undefined ? {} : { service: options.service }), ...(since === null ? {} : { since }), until });
    // Examples hold served and recomputed values in clear: none leaves the job unmasked.
    const clear: FeatureSkew[] = [...comparisons.values()].flatMap((c) => c.result());
    const secret = () => projectSecret(ctx.dataDir);
    const catalog = maskingCatalog(project);
    const features = maskSkewExamples(maskerFor(project, catalog, SYSTEM_PRINCIPAL, { secret }), project, clear).features;
    const principal = options.principal ?? SYSTEM_PRINCIPAL;
    const shown = options.principal === undefined ? { features } : maskSkewExamples(maskerFor(project, catalog, principal, { secret }), project, clear);
    const at = ctx.now();
    const run: SkewRun = { runId, at, since, until, features };
    await ctx.metadata.skew.record(run);
    const unhealthy = await reportConditions(ctx, project, runId, features, threshold, at);
    if ('evidence' in shown && shown.evidence) {
      await auditMaskedRead((e, when) => ctx.metadata.audit.append(e, when), principal, at, { target: 'skew', path: 'skew', purpose: 'operations', columns: shown.evidence.columns, rows: shown.examples });
    }
    const report: SkewReport = {
      ...run,
      features: shown.features,
      servedRows,
      unreadableLines,
      droppedRows: drops.rows,
      incomplete: drops.rows > 0,
      drops,
      maxMismatchRate: threshold,
      unhealthy,
      skipReasons: Object.fromEntries([...new Set(features.flatMap((f) => Object.keys(f.skipped) as SkewSkipReason[]))].sort().map((r) => [r, SKIP_REASONS[r]])),
    };
    const compared = features.reduce((n, f) => n + f.compared, 0);
    const mismatches = features.reduce((n, f) => n + f.mismatches, 0);
    return { result: report, stats: { skewRun: runId, servedRows: report.servedRows, compared, mismatches, features: features.length, unhealthy: unhealthy.length, unreadableLines: report.unreadableLines, droppedRows: drops.rows } };
  }, project);
}

/** Reports each compared feature's `skew` condition (over all services); returns the features firing. */
async function reportConditions(ctx: SluiceContext, project: Project, runId: string, features: readonly FeatureSkew[], threshold: number, at: number): Promise<string[]> {
  const byFeature = new Map<string, FeatureSkew[]>();
  for (const f of features) byFeature.set(f.feature, [...(byFeature.get(f.feature) ?? []), f]);
  const firing: string[] = [];
  for (const [feature, results] of byFeature) {
    const compared = results.reduce((n, f) => n + f.compared, 0);
    // A feature with nothing compared (all skipped) says nothing about skew: its condition stays as it was.
    if (compared === 0) continue;
    const mismatches = results.reduce((n, f) => n + f.mismatches, 0);
    const rate = mismatches / compared;
    const over = rate > threshold;
    const view = project.featureViews.find((v) => v.features.some((f) => featureColumn({ view: v.name, feature: f.name }) === feature))?.name ?? feature;
    const message = over
      ? `feature "${feature}": ${mismatches} of ${compared} served values (${percent(rate)}) differ from their offline recomputation (threshold ${percent(threshold)})` +
        // No example in it: a condition is read with the status right (and sent to alert channels), the values need the feature's read right.
        `; rematerialize it ("sluice materialize --views ${view}") and look for what wrote to the online store; "sluice skew --json" lists examples (to who may read the feature)`
      : `feature "${feature}": ${compared} served values compared, ${mismatches} differ (${percent(rate)}, threshold ${percent(threshold)})`;
    await ctx.metadata.health.report({
      kind: 'skew', subject: `feature:${feature}`, firing: over, severity: 'error', message,
      details: { skewRun: runId, services: results.map((f) => f.service), compared, mismatches, mismatchRate: rate, maxMismatchRate: threshold, examples: results.reduce((n, f) => n + f.examples.length, 0) },
    }, at);
    if (over) firing.push(feature);
  }
  return firing.sort();
}

function percent(rate: number): string {
  return `${Number((rate * 100).toPrecision(3))}%`;
}
