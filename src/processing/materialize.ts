import type { FeatureView, Project, Source } from '../definitions/index.js';
import { longestWindowMs } from '../definitions/index.js';
import { NotFoundError } from '../errors.js';
import type { SluiceContext } from '../context.js';
import { trackRun } from '../orchestration/track-run.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { retentionHorizon } from '../time/index.js';
import { eventColumns, isWindowed, type BaseAggregate, type Scalar } from './entity-state.js';
import { EntityStateBuilder } from './entity-state-builder.js';
import { baseAggregatesSql, retainedEventsSql } from './materialize-sql.js';
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

type BaseRow = Record<string, unknown> & { _key: string };

function baseOf(view: FeatureView, row: BaseRow | undefined): (BaseAggregate | null)[] {
  return view.features.map((feature, i): BaseAggregate | null => {
    const ts = row?.[`b${i}_ts`] as number | null | undefined;
    if (isWindowed(feature) || ts === null || ts === undefined) return null;
    const distinct = row![`b${i}_distinct`] as Scalar[] | undefined;
    return {
      n: (row![`b${i}_n`] as number | undefined) ?? 0,
      sum: (row![`b${i}_sum`] as number | null | undefined) ?? null,
      value: (row![`b${i}_value`] as Scalar | undefined) ?? null,
      ...(distinct === undefined ? {} : { distinct }),
      ts,
    };
  });
}

/**
 * Every entity's state for a view: the base aggregates (one grouped query) merged with the
 * retained events, streamed in columnar chunks sorted by entity and (ts, seq).
 */
async function* entityStates(engine: SqlEngine, view: FeatureView, source: Source, events: string, horizon: number, counts: { entities: number; retained: number }) {
  const baseSql = baseAggregatesSql(view, events, horizon);
  const bases = new Map<string, BaseRow>();
  if (baseSql !== undefined) for (const row of await engine.all<BaseRow>(baseSql)) bases.set(row._key, row);
  const types = eventColumns(view).map((c) => source.schema[c]!);
  const builder = new EntityStateBuilder(types);
  let key: string | undefined;
  const finish = (k: string) => {
    const state = builder.finish(horizon, baseOf(view, bases.get(k)));
    bases.delete(k);
    counts.entities++;
    counts.retained += state.ts.length;
    return [k, state] as const;
  };
  for await (const chunk of engine.streamChunks(retainedEventsSql(view, events, horizon))) {
    const keys = chunk.column(0);
    const ts = chunk.column(1);
    const columns = types.map((_, c) => chunk.column(2 + c));
    for (let r = 0; r < chunk.rowCount; r++) {
      const k = keys.get(r) as string;
      if (k !== key) {
        if (key !== undefined) yield finish(key);
        key = k;
      }
      builder.add(ts.get(r) as number, columns, r);
    }
  }
  if (key !== undefined) yield finish(key);
  for (const k of [...bases.keys()]) yield finish(k);
}

/**
 * Loads the online store so that it answers every feature "as of now" exactly: per view and
 * entity, base aggregates before the retention horizon plus every event the longest window can
 * still reach. Per view, one grouped DuckDB query for the bases and one sorted scan of the
 * retained events, streamed in columnar chunks; the view's online table is swapped atomically.
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
      await engine.run(`CREATE OR REPLACE TEMP TABLE materialize_events AS ${viewEventsSql(view, source, files)}`);
      const counts = { entities: 0, retained: 0 };
      try {
        await online.replaceView(
          { definition: view, materializedAt: asOf, horizon, snapshots: { [source.name]: snapshot ? { id: snapshot.id, version: snapshot.version } : null } },
          entityStates(engine, view, source, 'materialize_events', horizon, counts),
        );
      } finally {
        await engine.run('DROP TABLE IF EXISTS materialize_events');
      }
      results.push({ view: view.name, entities: counts.entities, events: snapshot?.rowCount ?? 0, retainedEvents: counts.retained, horizon, ms: performance.now() - started });
      options.onView?.(view.name, results.length, views.length);
    }
    return { result: { asOf, views: results }, stats: { asOf, views: results } };
  });
}
