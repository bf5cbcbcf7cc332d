import { testPause } from '../orchestration/test-pause.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { retentionHorizon } from '../time/index.js';
import type { EntityState } from './entity-state.js';
import { EntityStateBuilder } from './entity-state-builder.js';
import type { ViewPlan } from './feature-plan.js';
import { bufferColumnNames } from './view-events-sql.js';

export interface EntityStateCounts {
  entities: number;
  retained: number;
}

/**
 * Every entity's online state for a view at `asOf`, streamed: one sorted scan of the view's events
 * in (key, ts, seq) order, in columnar chunks, each entity's state built by `EntityStateBuilder`
 * (base before the horizon, tiles of hopped windows' closed hops, raw events after). Memory holds
 * one entity at a time, whatever the number of entities.
 */
export async function* entityStates(engine: SqlEngine, plan: ViewPlan, events: string, asOf: number, counts: EntityStateCounts): AsyncIterable<readonly [string, EntityState]> {
  const builder = new EntityStateBuilder(plan);
  let key: string | undefined;
  const finish = (): readonly [string, EntityState] => {
    const state = builder.finish(asOf);
    counts.entities++;
    counts.retained += state.ts.length;
    return [key!, state];
  };
  const unwindowed = plan.slots.some((slot) => slot.windowMs === undefined);
  const where = unwindowed ? '' : ` WHERE _ts >= ${retentionHorizon(asOf, plan.slots)}`;
  const valueColumns = bufferColumnNames(plan);
  const sql = `SELECT _key, _ts::DOUBLE, ${valueColumns.join(', ')} FROM (${events})${where} ORDER BY _key, _ts, _seq`;
  const width = 2 + valueColumns.length;
  for await (const chunk of engine.streamChunks(sql)) {
    const columns = Array.from({ length: width }, (_, c) => chunk.column(c));
    const keys = columns[0]!;
    const times = columns[1]!;
    for (let r = 0; r < chunk.rowCount; r++) {
      const k = keys.get(r) as string;
      if (k !== key) {
        if (key !== undefined) yield finish();
        key = k;
        builder.begin();
      }
      builder.append(times.get(r) as number, columns, 2, r, false);
    }
    // A crash test's point: states of the chunk's entities handed out, the view's table not complete.
    await testPause(`materialize.chunk-read:${plan.view.name}`);
  }
  if (key !== undefined) yield finish();
}
