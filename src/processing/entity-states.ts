import type { SqlEngine } from '../storage/engine/sql-engine.js';
import type { BaseState, EntityState } from './entity-state.js';
import { EventBufferBuilder } from './event-buffer-builder.js';
import { createAccumulators, slotUses, type ViewPlan } from './feature-plan.js';
import { bufferColumnNames } from './view-events-sql.js';

export interface EntityStateCounts {
  entities: number;
  retained: number;
}

/**
 * Every entity's online state for a view, streamed: one sorted scan of the view's events in
 * (key, ts, seq) order, in columnar chunks. Per entity, the events before `horizon` are folded
 * into the unwindowed slots' accumulators (their snapshots become the base), and the events at
 * or after it are kept. Memory holds one entity at a time, whatever the number of entities.
 */
export async function* entityStates(engine: SqlEngine, plan: ViewPlan, events: string, horizon: number, counts: EntityStateCounts): AsyncIterable<readonly [string, EntityState]> {
  const baseSlots = plan.slots.flatMap((slot, s) => (slot.windowMs === undefined ? [s] : []));
  const builder = new EventBufferBuilder(plan.columnKinds);
  const accumulators = createAccumulators(plan, builder.buffer);
  const usedTs = new Float64Array(plan.slots.length);
  let key: string | undefined;
  let retainedFrom = -1;
  const start = (k: string): void => {
    key = k;
    builder.reset();
    retainedFrom = -1;
    for (const s of baseSlots) accumulators[s]!.reset();
    usedTs.fill(NaN);
  };
  const finish = (): readonly [string, EntityState] => {
    const base = plan.slots.map((_, s): BaseState | null =>
      Number.isNaN(usedTs[s]!) ? null : { state: accumulators[s]!.snapshot(), ts: usedTs[s]! },
    );
    const { ts, columns } = builder.slice(retainedFrom < 0 ? builder.length : retainedFrom);
    counts.entities++;
    counts.retained += ts.length;
    return [key!, { horizon, base, ts, columns }];
  };
  const where = baseSlots.length === 0 ? ` WHERE _ts >= ${horizon}` : '';
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
        start(k);
      }
      const ts = times.get(r) as number;
      const i = builder.append(ts, columns, 2, r);
      if (ts >= horizon) {
        if (retainedFrom < 0) retainedFrom = i;
        continue;
      }
      for (const s of baseSlots) {
        accumulators[s]!.add(i);
        if (slotUses(plan.slots[s]!, builder.buffer, i)) usedTs[s] = ts;
      }
    }
  }
  if (key !== undefined) yield finish();
}
