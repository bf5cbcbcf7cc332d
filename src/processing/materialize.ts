import type { FeatureView, Project } from '../definitions/index.js';
import { longestWindowMs } from '../definitions/index.js';
import { NotFoundError } from '../errors.js';
import type { SluiceContext } from '../context.js';
import { trackRun } from '../orchestration/track-run.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { retentionHorizon } from '../time/index.js';
import { columnarEvents, eventColumns, isWindowed, type BaseAggregate, type EntityState, type Scalar } from './entity-state.js';
import { materializeSql } from './materialize-sql.js';
import { viewEventsSql } from './view-events-sql.js';

export interface MaterializeOptions {
  /** Views to materialize; default all. */
  readonly views?: readonly string[];
  /** The time the online state must answer from; default now. */
  readonly asOf?: number;
  readonly onView?: (view: string, done: number, total: number) => void;
}

export interface ViewMaterialization {
  readonly view: string;
  readonly entities: number;
  readonly events: number;
  readonly retainedEvents: number;
  readonly horizon: number;
  readonly ms: number;
}

export interface MaterializeResult {
  readonly asOf: number;
  readonly views: readonly ViewMaterialization[];
}

type StateRow = Record<string, unknown> & { _key: string; events: Array<Record<string, unknown>> | null };

function toState(view: FeatureView, width: number, row: StateRow, horizon: number): EntityState {
  const base = view.features.map((feature, i): BaseAggregate | null => {
    const ts = row[`b${i}_ts`] as number | null | undefined;
    if (isWindowed(feature) || ts === null || ts === undefined) return null;
    const distinct = row[`b${i}_distinct`] as Scalar[] | undefined;
    return {
      n: (row[`b${i}_n`] as number | undefined) ?? 0,
      sum: (row[`b${i}_sum`] as number | null | undefined) ?? null,
      value: (row[`b${i}_value`] as Scalar | undefined) ?? null,
      ...(distinct === undefined ? {} : { distinct }),
      ts,
    };
  });
  // Each event struct is {c0: ts, c1: seq, c2...: values}; the order is already (ts, seq).
  const rows = (row.events ?? []).map((e) => Object.values(e));
  const { ts, columns } = columnarEvents(rows.map((r) => [r[0], ...r.slice(2)]), width);
  return { horizon, base, ts, columns };
}

async function* entityStates(engine: SqlEngine, view: FeatureView, sql: string, horizon: number, counts: { entities: number; retained: number }) {
  const width = eventColumns(view).length;
  for await (const rows of engine.stream<StateRow>(sql)) {
    for (const row of rows) {
      const state = toState(view, width, row, horizon);
      counts.entities++;
      counts.retained += state.ts.length;
      yield [row._key, state] as const;
    }
  }
}

/**
 * Loads the online store so that it answers every feature "as of now" exactly: per view and
 * entity, base aggregates before the retention horizon plus every event the longest window can
 * still reach. One set-based DuckDB query per view; the view's online table is swapped atomically.
 *
 * @example
 * await materialize(ctx, project);
 */
export async function materialize(ctx: SluiceContext, project: Project, options: MaterializeOptions = {}): Promise<MaterializeResult> {
  const asOf = options.asOf ?? ctx.now();
  const views = options.views === undefined ? project.featureViews : options.views.map((name) => {
    const view = project.featureViews.find((v) => v.name === name);
    if (!view) throw new NotFoundError('NOT_FOUND', `feature view "${name}" is not in the registry`);
    return view;
  });
  return trackRun(ctx, 'materialize', { views: views.map((v) => v.name), asOf }, async () => {
    const engine = await ctx.engine();
    const online = await ctx.online();
    const results: ViewMaterialization[] = [];
    for (const view of views) {
      const started = performance.now();
      const source = project.sources.find((s) => s.name === view.source)!;
      const snapshot = await ctx.metadata.latestSnapshot(source.name);
      const files = (snapshot?.files ?? []).map((f) => ctx.lake.resolve(f));
      const horizon = retentionHorizon(asOf, longestWindowMs(view));
      const sql = materializeSql(view, `(${viewEventsSql(view, source, files)})`, horizon);
      const counts = { entities: 0, retained: 0 };
      await online.replaceView(
        view.name,
        { viewHash: view.hash, materializedAt: asOf, horizon },
        entityStates(engine, view, sql, horizon, counts),
      );
      results.push({ view: view.name, entities: counts.entities, events: snapshot?.rowCount ?? 0, retainedEvents: counts.retained, horizon, ms: performance.now() - started });
      options.onView?.(view.name, results.length, views.length);
    }
    return { result: { asOf, views: results }, stats: { asOf, views: results } };
  });
}
