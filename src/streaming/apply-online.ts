import { entityKey, type FeatureView, type Source } from '../definitions/index.js';
import { int64Value, type EventColumn, type Int64Column, type TextColumn } from '../processing/aggregations/index.js';
import { EventApplier, type EventBatch } from '../processing/apply-events.js';
import { viewPlan } from '../processing/feature-plan.js';
import type { OnlineStore, OnlineUpdateOptions, TableProgress, ViewTableInfo } from '../storage/online/online-store.js';
import type { DecodedEvents } from './decode-events.js';

/** A column of nulls, for a column the table reads that the decoded events lack. */
function nullColumn(kind: string, length: number): EventColumn {
  if (kind === 'text') return { dict: [], codes: new Int32Array(length).fill(-1) };
  if (kind === 'int64') return { hi: new Float64Array(length).fill(NaN), lo: null };
  if (kind === 'list') return { lists: new Array<null>(length).fill(null) };
  return new Float64Array(length).fill(NaN);
}

/**
 * A join key column's values as the key text every path uses (see `entityKey`): strings as they
 * are, int64 in decimal (the lake's text form); undefined for a column the events lack.
 */
function keyText(column: EventColumn | undefined): ((row: number) => string | null) | undefined {
  if (column === undefined || column instanceof Float64Array) return undefined;
  if ((column as TextColumn).codes !== undefined) {
    const { dict, codes } = column as TextColumn;
    return (r) => (codes[r]! < 0 ? null : dict[codes[r]!]!);
  }
  const { hi, lo } = column as Int64Column;
  return (r) => (Number.isNaN(hi[r]!) ? null : String(int64Value(hi[r]!, lo?.[r] ?? 0)));
}

/** Whether events were decoded with the row transforms (filter, derived columns) of `view`. */
export function decodedFor(decoded: DecodedEvents, view: FeatureView): boolean {
  return (view.filter === undefined || decoded.derived?.has(view.filter) === true) && Object.values(view.derived ?? {}).every((c) => decoded.derived?.has(c.sql) === true);
}

/**
 * Applies decoded events (the rows `keep` says, all when absent, that pass the table's filter) to one online table, in one
 * atomic update with `progress`: per entity, its new events in (ts, arrival) order are merged into
 * its state by `EventApplier`, under the table's own definition (blue/green: an older table keeps
 * its features, and its row transforms, which `decoded` must have been decoded with). Events older than what the table's windows can still reach (`acknowledged -
 * allowed lateness - longest window`) are folded into the base. Resolves undefined when the
 * table is no longer served. `options`: see `OnlineStore.update`.
 */
export async function applyToTable(
  online: OnlineStore, table: ViewTableInfo, source: Source, decoded: DecodedEvents, ackTime: number, progress: TableProgress,
  keep?: (row: number) => boolean, options?: OnlineUpdateOptions,
): Promise<ViewTableInfo | undefined> {
  const view = table.definition;
  if (!decodedFor(decoded, view)) throw new Error(`internal: events of source "${source.name}" were decoded without the row transforms of view "${view.name}"`);
  const plan = viewPlan(view);
  const n = decoded.ts.length;
  const column = (c: string): EventColumn | undefined => {
    const derived = view.derived?.[c];
    return derived === undefined ? decoded.columns.get(c) : decoded.derived!.get(derived.sql);
  };
  const batch: EventBatch = { ts: decoded.ts, columns: plan.columns.map((c, i) => column(c) ?? nullColumn(plan.columnKinds[i]!, n)) };
  const filter = view.filter === undefined ? undefined : (decoded.derived!.get(view.filter) as Float64Array);
  const keyParts = view.joinKeys.map((k) => keyText(decoded.columns.get(k)));
  const groups = new Map<string, number[]>();
  if (keyParts.every((p) => p !== undefined)) {
    for (let r = 0; r < n; r++) {
      if (keep !== undefined && !keep(r)) continue;
      if (filter !== undefined && filter[r] !== 1) continue;
      const parts = keyParts.map((p) => p!(r));
      if (parts.some((p) => p === null || p === undefined)) continue;
      const key = entityKey(parts as string[]);
      const rows = groups.get(key);
      if (rows) rows.push(r);
      else groups.set(key, [r]);
    }
  }
  // Stable: events of equal time keep their arrival order.
  for (const rows of groups.values()) rows.sort((a, b) => decoded.ts[a]! - decoded.ts[b]!);
  // The state answers from the earliest time a later event can still arrive at (a later event of
  // an older time is late: dead-lettered).
  const asOf = ackTime - (source.allowedLatenessMs ?? 0);
  const applier = new EventApplier(plan);
  return online.update(view.name, table.generation, [...groups.keys()], (key, state) => applier.apply(state, batch, groups.get(key)!, asOf), progress, options);
}
