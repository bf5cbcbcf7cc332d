import { auditErrorCode } from '../audit/audited-action.js';
import type { Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { withLease } from '../../orchestration/lease.js';
import { testPause } from '../../orchestration/test-pause.js';
import { trackRun } from '../../orchestration/track-run.js';
import type { Principal } from '../principal.js';
import { newestEventOf } from '../purge/purge-online.js';
import { scrubRemovedBytes } from '../purge/scrub-removed.js';
import { purgeRows } from '../purge/purge-rows.js';
import { purgeServingLog } from '../purge/purge-serving-log.js';
import { trimDropRecords, type ServedRow } from '../../observability/serving-log/index.js';
import type { PurgeReport } from '../purge/purge-types.js';

export interface RetentionOptions {
  /** Who runs it (the CLI's operator, the scheduler), for the audit trail. */
  readonly principal: Principal;
  /** Count what would be removed; remove nothing. */
  readonly dryRun?: boolean;
  /** Datasets built from data that has since expired: `flag` (default) lists them as tainted, `rewrite` removes their rows before the cutoff. */
  readonly datasets?: 'flag' | 'rewrite';
}

/** What one source's retention did. */
export interface SourceRetention {
  readonly source: string;
  readonly retention: string;
  /** Events before this (epoch ms) were removed. */
  readonly cutoff: number;
  readonly purge: PurgeReport;
  /** Snapshots created before the cutoff, deleted (never the latest), and the files only they listed. */
  readonly expiredSnapshots: readonly string[];
  readonly filesDeleted: readonly string[];
  readonly bytesDeleted: number;
}

/** What one view's retention did to its online table. */
export interface ViewRetention {
  readonly view: string;
  readonly retention: string;
  readonly cutoff: number;
  /** Entities whose newest event is before the cutoff, removed. */
  readonly entries: number;
  /** Serving log rows of the view served before the cutoff, removed. */
  readonly servedRows: number;
}

/** A service's serving-log drop records (see `trimDropRecords`) of requests served before `cutoff`, removed. */
export interface ServiceDropRecords {
  readonly service: string;
  readonly cutoff: number;
  readonly records: number;
}

export interface RetentionReport {
  readonly at: number;
  readonly dryRun: boolean;
  readonly sources: readonly SourceRetention[];
  readonly views: readonly ViewRetention[];
  /** Per service with drop records removed: the serving log's records of rows it could not keep, of requests before the cutoff. */
  readonly dropRecords: readonly ServiceDropRecords[];
  /** LMDB stores whose removed bytes are not cleared yet (another process has them open), with the reason; empty after a dry run. */
  readonly scrubPending: readonly { readonly store: string; readonly reason: string }[];
  /**
   * Lake files a crashed earlier run (a purge between its swap and its deletion, or a snapshot
   * expiry before its deletion) had left undeleted, still holding removed rows: deleted by this run.
   */
  readonly leftoverFiles: number;
}

/**
 * Applies every `retention` of the project at the clock's now: per source with one, removes its
 * events older than `now - retention` from every store (`purgeRows`, reason `retention`, and the
 * transforms' tables derived from it), expires its snapshots created before the cutoff (never
 * the latest) and deletes the lake files no remaining snapshot lists; per feature view with
 * one, removes the online entries whose newest event is older than `now - retention`. Leaves
 * one `retention.run` audit record with the totals (each purge leaves its own `purge.run`).
 * Idempotent: a second run at the same time removes nothing more.
 *
 * @example
 * const report = await runRetention(ctx, project, { principal, dryRun: true });
 */
export async function runRetention(ctx: SluiceContext, project: Project, options: RetentionOptions): Promise<RetentionReport> {
  const dryRun = options.dryRun ?? false;
  const evidence = { actor: options.principal.name, action: 'retention.run', target: `project:${project.name}`, origin: options.principal.origin, purpose: 'retention-policy' };
  let report: RetentionReport;
  try {
    report = await trackRun(ctx, 'retention', { dryRun }, async () => {
      const result = await applyRetention(ctx, project, options, dryRun);
      return { result, stats: { rows: result.sources.reduce((n, s) => n + s.purge.rows, 0), entries: result.views.reduce((n, v) => n + v.entries, 0) } };
    }, project);
  } catch (error) {
    await ctx.metadata.audit.append({ ...evidence, outcome: 'failed', details: { dryRun, error: auditErrorCode(error) } }, ctx.now());
    throw error;
  }
  const { sources, views } = report;
  await ctx.metadata.audit.append({
    ...evidence, outcome: 'succeeded',
    details: {
      dryRun,
      sources: sources.map((s) => ({ source: s.source, retention: s.retention, cutoff: new Date(s.cutoff).toISOString(), rows: s.purge.rows, bytes: s.purge.bytes + s.bytesDeleted, expiredSnapshots: s.expiredSnapshots.length, filesDeleted: s.filesDeleted.length })),
      views: views.map((v) => ({ view: v.view, retention: v.retention, cutoff: new Date(v.cutoff).toISOString(), entries: v.entries, servedRows: v.servedRows })),
      dropRecords: report.dropRecords.map((d) => ({ service: d.service, cutoff: new Date(d.cutoff).toISOString(), records: d.records })),
      scrubPending: report.scrubPending, leftoverFiles: report.leftoverFiles,
    },
  }, ctx.now());
  return report;
}

async function applyRetention(ctx: SluiceContext, project: Project, options: RetentionOptions, dryRun: boolean): Promise<RetentionReport> {
  const at = ctx.now();
  const sources: SourceRetention[] = [];
  for (const source of project.sources) {
    if (source.retentionMs === undefined || source.kind === 'transform') continue;
    const cutoff = at - source.retentionMs;
    const purge = await purgeRows(ctx, project, {
      source: source.name, match: { kind: 'before', before: cutoff }, reason: 'retention', principal: options.principal,
      purpose: 'retention-policy', dryRun, datasets: options.datasets ?? 'flag',
    });
    await testPause('retention.purged');
    const expired = await ctx.metadata.purge.expireSnapshots(source.name, cutoff, dryRun);
    const gone = new Set(expired.map((s) => s.id));
    const kept = new Set((await ctx.metadata.listSnapshots({ source: source.name, limit: Number.MAX_SAFE_INTEGER })).filter((s) => !gone.has(s.id)).flatMap((s) => s.files));
    const orphaned = [...new Set(expired.flatMap((s) => s.files))].filter((f) => !kept.has(f));
    const sizes = new Map((await ctx.lake.listFiles()).map((f) => [f.file, f.bytes]));
    const bytesDeleted = orphaned.reduce((n, f) => n + (sizes.get(f) ?? 0), 0);
    await testPause('retention.expired');
    if (!dryRun) {
      // The expiry recorded these as pending deletions in its transaction: a crash here leaves them to the next purge.
      for (const file of orphaned) await ctx.lake.remove(file);
      await ctx.metadata.purge.clearPendingDeletions(orphaned);
    }
    sources.push({ source: source.name, retention: source.retention!, cutoff, purge, expiredSnapshots: expired.map((s) => s.id), filesDeleted: orphaned, bytesDeleted });
  }
  const views: ViewRetention[] = [];
  // Per serving-log directory, the cutoffs of the views whose rows were removed from it (for its drop records, below).
  const removedFrom = new Map<string, number[]>();
  const online = await ctx.online();
  for (const view of project.featureViews) {
    if (view.retentionMs === undefined) continue;
    const cutoff = at - view.retentionMs;
    const select = { where: (_key: string, state: Parameters<typeof newestEventOf>[0]) => newestEventOf(state) < cutoff };
    const entries = dryRun
      ? await online.remove(view.name, select, { dryRun })
      : await withLease(ctx.metadata, `materialize:${view.name}`, { waitMs: 600_000, purpose: `the retention of view "${view.name}"` }, () => online.remove(view.name, select));
    // The view's served history: serving log rows it answered before the cutoff.
    const row = (served: ServedRow, dir: string) => {
      const remove = served.servedAt < cutoff && view.name in served.views;
      if (remove) removedFrom.set(dir, [...(removedFrom.get(dir) ?? []), cutoff]);
      return remove;
    };
    const served = await purgeServingLog(ctx, { row, torn: () => false }, dryRun);
    views.push({ view: view.name, retention: view.retention!, cutoff, entries, servedRows: served.rows });
  }
  // A service's records of holes in its serving log go with the rows of their period: a request
  // answers every view of its service, so its rows were removed above once any of those views'
  // cutoffs passed it.
  const dropRecords: ServiceDropRecords[] = [];
  for (const service of project.featureServices) {
    const cutoffs = views.filter((v) => service.features.some((f) => f.view === v.view)).map((v) => v.cutoff);
    if (cutoffs.length === 0) continue;
    const cutoff = Math.max(...cutoffs);
    const records = await trimDropRecords(ctx.dataDir, service.name, cutoff, dryRun);
    if (records > 0) dropRecords.push({ service: service.name, cutoff, records });
  }
  // A directory of no service of the project (the feature-list requests' `_features`, a removed or
  // renamed service) has no views to go by: its rows went by the views each request named. Its
  // records go at the earliest cutoff of the views whose rows were removed from it in this run:
  // the rows of each of those views before that cutoff are gone. Not the latest: a record does not
  // say which views its lost rows answered, and one that outlives its rows only says, a while
  // longer, that a period with no rows left was incomplete, while one removed too early would hide
  // a hole in rows still there. A directory from which this run removed no rows keeps its records.
  const inProject = new Set(project.featureServices.map((s) => s.name));
  for (const [dir, cutoffs] of removedFrom) {
    if (inProject.has(dir)) continue;
    const cutoff = Math.min(...cutoffs);
    const records = await trimDropRecords(ctx.dataDir, dir, cutoff, dryRun);
    if (records > 0) dropRecords.push({ service: dir, cutoff, records });
  }
  // Expired records must not linger in free pages either (as after an erasure).
  const scrubPending = dryRun ? [] : (await scrubRemovedBytes(ctx, project)).scrubPending;
  const leftoverFiles = sources.reduce((n, s) => n + s.purge.leftoverFiles.length, 0);
  return { at, dryRun, sources, views, dropRecords, scrubPending, leftoverFiles };
}
