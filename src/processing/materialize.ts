import { findView, isStreamed, type Project } from '../definitions/index.js';
import { ValidationError } from '../errors.js';
import { checkViewRows } from '../quality/view-checks.js';
import { checksFailedError, recordVerdict, verdictStats, type BatchVerdict } from '../quality/run-checks.js';
import type { SluiceContext } from '../context.js';
import { withLease } from '../orchestration/lease.js';
import { testPause } from '../orchestration/test-pause.js';
import { cleanUpAfterStop, currentRunId, trackRun } from '../orchestration/track-run.js';
import { retentionHorizon } from '../time/index.js';
import { entityStates } from './entity-states.js';
import { viewPlan } from './feature-plan.js';
import { viewEventsSql } from './view-events-sql.js';
import { loadLogEntries } from '../ingest/log-entries.js';
import { markHeldSnapshot } from '../streaming/reflected-snapshot.js';

/** `_seq` of events read from the log: after every committed event (their own order is the log's). */
const LOG_SEQ = 2 ** 53;
/** Log entries read at a time. */
const LOG_PAGE = 1_000;

export interface MaterializeOptions {
  /** Views to materialize; default all. */
  readonly views?: readonly string[];
  /** The time the online state must answer from; default now. */
  readonly asOf?: number;
  readonly onView?: (view: string, done: number, total: number) => void;
  /**
   * Writers of one view are serialized by the lease `materialize:<view>`: a materialize of a
   * view another process (or call) is writing waits for it up to this long, then fails with a
   * ConflictError naming the holder. Default 10 minutes. A dead holder is taken over at once.
   */
  readonly leaseWaitMs?: number;
  /**
   * The caller already holds the `materialize:<view>` leases of these views (a purge
   * rematerializing what it changed, under the leases it took for its whole run).
   */
  readonly viewLeasesHeld?: boolean;
  /**
   * Stops it (its job's timeout, a stopping scheduler): checked before each view's checks and
   * before its switch-in, the commit point of a view; the engine's interrupts stop a scan.
   */
  readonly signal?: AbortSignal;
  /** Why it runs, recorded in the run's params (`sluice runs` shows it): `recovery` for a table the online store lost. */
  readonly trigger?: 'recovery';
}

export interface ViewMaterialization {
  readonly view: string;
  readonly entities: number;
  readonly events: number;
  readonly retainedEvents: number;
  readonly horizon: number;
  readonly ms: number;
  /** The snapshot of its source it was computed from (null: the source had none). */
  readonly snapshot: string | null;
}

export interface MaterializeResult {
  readonly asOf: number;
  readonly views: readonly ViewMaterialization[];
}

/**
 * Loads the online store so that it answers every feature "as of now" exactly: per view and
 * entity, accumulator snapshots over the events before the retention horizon plus every event
 * the longest window can still reach (a hot entity's hopped windows: one snapshot per closed hop,
 * see `EntityStateBuilder`). Per view, one sorted scan of its events streamed in
 * columnar chunks; the view's online table is swapped atomically.
 *
 * @example
 * await materialize(ctx, project);
 */
export async function materialize(ctx: SluiceContext, project: Project, options: MaterializeOptions = {}): Promise<MaterializeResult> {
  const asOf = options.asOf ?? ctx.now();
  const views = options.views === undefined ? project.featureViews : options.views.map((name) => findView(project, name));
  return trackRun(ctx, 'materialize', { views: views.map((v) => v.name), asOf, ...(options.trigger ? { trigger: options.trigger } : {}) }, async () => {
    const engine = await ctx.engine();
    const online = await ctx.online();
    const results: ViewMaterialization[] = [];
    const checked: BatchVerdict[] = [];
    const blocked: Error[] = [];
    for (const view of views) {
      const underLease = (body: () => Promise<void>): Promise<void> => (options.viewLeasesHeld
        ? body()
        : withLease(ctx.metadata, `materialize:${view.name}`, { waitMs: options.leaseWaitMs ?? 600_000, purpose: `materialize of view "${view.name}"` }, body));
      await underLease(async () => {
      const started = performance.now();
      const source = project.sources.find((s) => s.name === view.source)!;
      const snapshot = await ctx.metadata.latestSnapshot(source.name);
      await testPause('materialize.snapshot-read');
      const files = (snapshot?.files ?? []).map((f) => ctx.lake.resolve(f));
      const horizon = retentionHorizon(asOf, view.features);
      const plan = viewPlan(view);
      const counts = { entities: 0, retained: 0 };
      // A stream source's events are in the lake and, the latest ones, only in the durable log
      // yet: the table holds both, and records the last log entry it holds.
      let extra: string | undefined;
      let applied = {};
      if (isStreamed(source)) {
        const log = await ctx.log();
        const from = snapshot ? log.lakeOffset(source.name, snapshot.version) : 0;
        // Page by page into one table, so memory holds one page of the log at a time.
        let last = from;
        let rows = 0;
        for (let page = log.read(source.name, last, LOG_PAGE); page.length > 0; page = log.read(source.name, last, LOG_PAGE)) {
          rows += await loadLogEntries(engine, source, page, 'materialize_log', LOG_SEQ + rows, rows > 0);
          last = page.at(-1)!.offset;
        }
        if (rows > 0) extra = 'materialize_log';
        applied = { applied: { [source.name]: last } };
      }
      options.signal?.throwIfAborted();
      // The view's checks see the rows before the online table is replaced: an error blocks the swap.
      const verdict = await checkViewRows(engine, project, view, plan, viewEventsSql(plan, source, files, extra), asOf, ctx.now());
      if (verdict) {
        checked.push(verdict);
        if (verdict.blocking.length > 0) {
          await recordVerdict(ctx, verdict);
          const serving = (await online.viewInfo(view.name)) !== undefined;
          blocked.push(checksFailedError(view.name, verdict, serving ? 'its online table was not replaced (the previous one keeps serving)' : 'it has no online table (it answers NOT_MATERIALIZED)'));
          if (extra) await engine.run(`DROP TABLE ${extra}`);
          return;
        }
        await recordVerdict(ctx, verdict);
      }
      options.signal?.throwIfAborted();
      const table = await online.replaceView(
        { definition: view, materializedAt: asOf, horizon, snapshots: { [source.name]: snapshot ? { id: snapshot.id, version: snapshot.version } : null }, ...applied },
        entityStates(engine, plan, viewEventsSql(plan, source, files, extra), asOf, counts),
      );
      // Snapshots committed from log entries the table holds while it was built, and compactions
      // (the same rows): it reflects them (a commit after the switch moves the marker itself).
      const committed = await ctx.metadata.latestSnapshot(source.name);
      if (committed !== undefined) await markHeldSnapshot(ctx.metadata, online, view.name, source.name, committed);
      // Durable beside the lake: a table the online store loses (reset after a power loss) is rebuilt from it (see rebuildLostViews).
      await ctx.metadata.materialized.record({ view: view.name, viewHash: table.viewHash, materializedAt: table.materializedAt, runId: currentRunId() ?? null });
      if (extra) await cleanUpAfterStop(() => engine.run(`DROP TABLE ${extra}`));
      results.push({ view: view.name, entities: counts.entities, events: snapshot?.rowCount ?? 0, retainedEvents: counts.retained, horizon, ms: performance.now() - started, snapshot: snapshot?.id ?? null });
      options.onView?.(view.name, results.length, views.length);
      });
    }
    if (blocked.length > 0) throw blocked.length === 1 ? blocked[0]! : new ValidationError('VALIDATION_FAILED', blocked.map((e) => e.message).join('\n'));
    return { result: { asOf, views: results }, stats: { asOf, views: results, ...(checked.length > 0 ? { checks: checked.flatMap((v) => verdictStats(v).checks as unknown[]) } : {}) } };
  }, project);
}
