import { auditErrorCode } from '../audit/audited-action.js';
import type { Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { InterruptedError, stoppedBy } from '../../errors.js';
import { withLease } from '../../orchestration/lease.js';
import { testPause } from '../../orchestration/test-pause.js';
import { trackRun } from '../../orchestration/track-run.js';
import type { Principal } from '../principal.js';
import { newestEventOf } from '../purge/purge-online.js';
import { scrubRemovedBytes } from '../purge/scrub-removed.js';
import { purgeRows } from '../purge/purge-rows.js';
import { purgeServingLog } from '../purge/purge-serving-log.js';
import { servingLogFileEnd, servingLogServices, trimDropRecords, type ServedRow } from '../../observability/serving-log/index.js';
import { dropRecordCutoff, dropRecordGone, removingView, unreadableCutoff, type ViewCutoffs } from './served-retention.js';
import type { PurgeReport } from '../purge/purge-types.js';
import { retentionStop, type RetentionStop, type RetentionStopRule } from './retention-stop.js';

export interface RetentionOptions {
  /** Who runs it (the CLI's operator, the scheduler), for the audit trail. */
  readonly principal: Principal;
  /** Count what would be removed; remove nothing. */
  readonly dryRun?: boolean;
  /** Datasets built from data that has since expired: `flag` (default) lists them as tainted, `rewrite` removes their rows before the cutoff. */
  readonly datasets?: 'flag' | 'rewrite';
  /**
   * Stops it (a signal, a stopping scheduler): before its first purge commits, the run fails as
   * interrupted (the purge running fails so, `PurgeRequest.signal`); past it, the steps not done
   * are left to the next run and the run succeeds, saying so (`RetentionReport.stopped`, `retentionStop`).
   */
  readonly signal?: AbortSignal;
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

/** A directory's serving-log drop records removed (see `trimDropRecordsOf`); `cutoff`: the latest by which one of them went. */
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
  /**
   * Serving-log lines and rows that do not read (a torn line, a row this build cannot read),
   * removed: those in files whose hour ends by the earliest cutoff of their directory's views (`unreadableCutoff`).
   */
  readonly servedUnreadable: number;
  /** LMDB stores whose removed bytes are not cleared yet (another process has them open), with the reason; empty after a dry run. */
  readonly scrubPending: readonly { readonly store: string; readonly reason: string }[];
  /** A stop past the run's commit point (its first purge's commit): its reason and the steps left to the next run (`retentionStop`). */
  readonly stopped?: RetentionStop;
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
      servedUnreadable: report.servedUnreadable, scrubPending: report.scrubPending, leftoverFiles: report.leftoverFiles,
      ...(report.stopped === undefined ? {} : { stopped: report.stopped }),
    },
  }, ctx.now());
  return report;
}

async function applyRetention(ctx: SluiceContext, project: Project, options: RetentionOptions, dryRun: boolean): Promise<RetentionReport> {
  const at = ctx.now();
  const stop = retentionStop(options.signal);
  const sources: SourceRetention[] = [];
  for (const source of project.sources) {
    if (source.retentionMs === undefined || source.kind === 'transform') continue;
    const done = await stop.step(`source:${source.name}`, () => retainSource(ctx, project, options, dryRun, source, at - source.retentionMs!, stop), () => undefined);
    if (done !== undefined) sources.push(done);
  }
  // Per feature view under retention, in the project's order, its cutoff.
  const cutoffs: ViewCutoffs = new Map(project.featureViews.flatMap((v) => (v.retentionMs === undefined ? [] : [[v.name, at - v.retentionMs] as const])));
  const entries = new Map<string, number>();
  const online = await ctx.online();
  for (const [name, cutoff] of cutoffs) {
    const select = { where: (_key: string, state: Parameters<typeof newestEventOf>[0]) => newestEventOf(state) < cutoff };
    entries.set(name, dryRun
      ? await online.remove(name, select, { dryRun })
      : await stop.step(`online:${name}`, async () => {
        if (options.signal?.aborted) throw stoppedBy(options.signal, (why) => `retention of view "${name}" stopped before it began: ${why}`, { step: `online:${name}` });
        const removed = await withLease(ctx.metadata, `materialize:${name}`, { waitMs: 600_000, purpose: `the retention of view "${name}"`, ...(options.signal === undefined ? {} : { signal: options.signal }) }, () => online.remove(name, select));
        stop.committed();
        return removed;
      }, () => 0));
  }
  // The views' served history, in one pass over the serving log: each row by the rule (`removingView`),
  // counted under the view that removes it; per directory, the cutoffs that removed rows from it.
  const servedRows = new Map<string, number>();
  const removedFrom = new Map<string, Set<number>>();
  const row = (served: ServedRow, dir: string) => {
    const by = removingView(cutoffs, served.servedAt, (view) => view in served.views);
    if (by === undefined) return false;
    servedRows.set(by, (servedRows.get(by) ?? 0) + 1);
    if (!removedFrom.has(dir)) removedFrom.set(dir, new Set());
    removedFrom.get(dir)!.add(cutoffs.get(by)!);
    return true;
  };
  let servedUnreadable = 0;
  const dirCutoffs = new Map<string, number | undefined>();
  const torn = (_text: string, dir: string, file: string) => {
    if (!dirCutoffs.has(dir)) dirCutoffs.set(dir, unreadableCutoff(project, cutoffs, dir));
    const cutoff = dirCutoffs.get(dir);
    const end = servingLogFileEnd(file);
    if (cutoff === undefined || end === undefined || end > cutoff) return false;
    servedUnreadable++;
    return true;
  };
  // Stop-checked per file it rewrites: what it removed stays removed (and counted), the rest goes at the next run.
  const servedStop = async () => {
    if (options.signal?.aborted) throw stoppedBy(options.signal, (why) => `retention of the serving log stopped: ${why}; what it removed stays removed, and the next "sluice retention run" removes the rest`, { step: 'serving-log' });
  };
  if (cutoffs.size > 0) await stop.step('serving-log', () => purgeServingLog(ctx, { row, torn }, dryRun, servedStop), () => undefined);
  const views: ViewRetention[] = project.featureViews.flatMap((v) => {
    const cutoff = cutoffs.get(v.name);
    return cutoff === undefined ? [] : [{ view: v.name, retention: v.retention!, cutoff, entries: entries.get(v.name)!, servedRows: servedRows.get(v.name) ?? 0 }];
  });
  const dropRecords = cutoffs.size === 0 ? [] : await stop.step('drop-records', () => trimDropRecordsOf(ctx, project, cutoffs, removedFrom, dryRun), () => []);
  // Expired records must not linger in free pages either (as after an erasure). Clean-up of committed work:
  // a stop leaves the stores it did not reach to the next run, each firing `scrub_pending`.
  const scrubPending = dryRun ? [] : await stop.step('scrub', async () => (await scrubRemovedBytes(ctx, project, options.signal)).scrubPending, (error) => scrubLeft(error), { meetsStop: true });
  const leftoverFiles = sources.reduce((n, s) => n + s.purge.leftoverFiles.length, 0);
  const stopped = stop.stopped();
  return { at, dryRun, sources, views, dropRecords, servedUnreadable, scrubPending, leftoverFiles, ...(stopped === undefined ? {} : { stopped }) };
}

/**
 * One source's retention: its purge of the events before `cutoff` (the run's commit point), then
 * the expiry of its snapshots created before it and the deletion of the files only they listed.
 */
async function retainSource(ctx: SluiceContext, project: Project, options: RetentionOptions, dryRun: boolean, source: Project['sources'][number], cutoff: number, stop: RetentionStopRule): Promise<SourceRetention> {
  const purge = await purgeRows(ctx, project, {
    source: source.name, match: { kind: 'before', before: cutoff }, reason: 'retention', principal: options.principal,
    purpose: 'retention-policy', dryRun, datasets: options.datasets ?? 'flag', ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (!dryRun) stop.committed();
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
  return { source: source.name, retention: source.retention!, cutoff, purge, expiredSnapshots: expired.map((s) => s.id), filesDeleted: orphaned, bytesDeleted };
}

/** The stores a stopped scrub left (`scrubRemovedBytes` fired `scrub_pending` for each), with the stop's message. */
function scrubLeft(error: Error | undefined): RetentionReport['scrubPending'] {
  const left = error instanceof InterruptedError && error.details?.step === 'scrub' ? error.details.left : undefined;
  if (!Array.isArray(left)) throw error ?? new Error('the scrub was left without its stop');
  return left.map((store) => ({ store: String(store), reason: error!.message }));
}

/**
 * The serving log's drop records go with the rows they stand for: a record names the views its
 * lost rows answered, and goes by the rows' rule (`dropRecordGone`). A record without views
 * (written before 2026-11-30 (15)) goes as it did: in a service's directory, before the latest
 * cutoff of the service's views (every request answers all of them); in a directory of no service
 * of the project (`_features`, a removed or renamed service), before the earliest cutoff of the
 * views whose rows this run removed from it (none removed: it stays), a conservative bound since
 * such a record does not say which views its rows answered.
 */
async function trimDropRecordsOf(ctx: SluiceContext, project: Project, cutoffs: ViewCutoffs, removedFrom: ReadonlyMap<string, ReadonlySet<number>>, dryRun: boolean): Promise<ServiceDropRecords[]> {
  const legacy = new Map<string, number>();
  for (const service of project.featureServices) {
    const of = service.features.flatMap((f) => cutoffs.get(f.view) ?? []);
    if (of.length > 0) legacy.set(service.name, Math.max(...of));
  }
  const inProject = new Set(project.featureServices.map((s) => s.name));
  for (const [dir, removed] of removedFrom) if (!inProject.has(dir)) legacy.set(dir, Math.min(...removed));
  const dirs = await servingLogServices(ctx.dataDir);
  const ordered = [...project.featureServices.map((s) => s.name).filter((name) => dirs.includes(name)), ...dirs.filter((dir) => !inProject.has(dir))];
  const trimmed: ServiceDropRecords[] = [];
  for (const dir of ordered) {
    const legacyCutoff = legacy.get(dir);
    const removed = await trimDropRecords(ctx.dataDir, dir, (record) => dropRecordGone(cutoffs, record, legacyCutoff), dryRun);
    if (removed.length > 0) trimmed.push({ service: dir, cutoff: Math.max(...removed.map((r) => dropRecordCutoff(cutoffs, r, legacyCutoff))), records: removed.length });
  }
  return trimmed;
}
