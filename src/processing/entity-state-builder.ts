import { eventRange, floorToHop, rawEventsHorizon, retentionHorizon, tiledUntil, windowAt } from '../time/index.js';
import type { Accumulator } from './aggregations/index.js';
import type { BaseState, EntityState, SlotTiles } from './entity-state.js';
import { EventBufferBuilder, type ChunkValues } from './event-buffer-builder.js';
import { createAccumulators, slotUses, type ViewPlan } from './feature-plan.js';

/**
 * Builds one entity's online state (see `EntityState`) from its events, the one rule for both
 * builders: materialize (every event of the entity) and the incremental path (a stored state's raw
 * events merged with new ones). Events are appended in (ts, arrival) order; `finish(asOf)` then
 * folds the events before the horizon into the unwindowed slots' base, cuts hopped windows' closed
 * hops into tiles (updating the stored state's tiles: a late event restores its tile, adds, and
 * snapshots again), and keeps the rest raw. Reused across entities, one per view.
 *
 * A state is tiled when tiling drops more raw events than it adds tiles (hot entities), and stays
 * tiled once it is (its raw events of closed hops are gone); cold entities keep raw events only,
 * as before tiles existed. Both forms answer every `t >= asOf` exactly alike.
 *
 * @example
 * const builder = new EntityStateBuilder(plan);
 * builder.begin(stored);
 * builder.append(ts, values, 0, row, false); // each event, in (ts, arrival) order
 * const state = builder.finish(asOf);
 */
export class EntityStateBuilder {
  readonly events: EventBufferBuilder;
  private readonly accumulators: Accumulator[];
  private readonly baseSlots: number[];
  /** Hopped slots whose accumulator merges snapshots. */
  private readonly tileSlots: number[];
  /** The plan's windows, hopped slots marked as tiled (for `rawEventsHorizon`). */
  private readonly windows: readonly { windowMs: number | undefined; hopMs: number | undefined; tiled: boolean }[];
  private readonly usedTs: Float64Array;
  /** Per appended event: 0 for a raw event of the stored state (already in its tiles when before their end), 1 for a new one. */
  private fresh = new Uint8Array(64);
  private stored: EntityState | undefined;

  constructor(private readonly plan: ViewPlan) {
    this.events = new EventBufferBuilder(plan.columnKinds);
    this.accumulators = createAccumulators(plan, this.events.buffer);
    this.baseSlots = plan.slots.flatMap((slot, s) => (slot.windowMs === undefined ? [s] : []));
    this.tileSlots = plan.slots.flatMap((slot, s) => (slot.windowMs !== undefined && slot.hopMs !== undefined && this.accumulators[s]!.merge ? [s] : []));
    this.windows = plan.slots.map((slot, s) => ({ windowMs: slot.windowMs, hopMs: slot.hopMs, tiled: this.tileSlots.includes(s) }));
    this.usedTs = new Float64Array(plan.slots.length);
  }

  /** Starts an entity, from its stored state (undefined: none). */
  begin(stored?: EntityState): void {
    this.stored = stored;
    this.events.reset();
  }

  /** Appends an event (as `EventBufferBuilder.append`); `stored`: one of the stored state's raw events. */
  append(ts: number, values: readonly ChunkValues[], first: number, row: number, stored: boolean): number {
    const i = this.events.append(ts, values, first, row);
    if (i === this.fresh.length) {
      const grown = new Uint8Array(this.fresh.length * 2);
      grown.set(this.fresh);
      this.fresh = grown;
    }
    this.fresh[i] = stored ? 0 : 1;
    return i;
  }

  /**
   * The state answering every `t >= asOf` (and `t >=` the stored state's time, whichever is later)
   * from the stored state and the events appended.
   */
  finish(asOf: number): EntityState {
    const { plan, stored } = this;
    const cutAt = Math.max(asOf, stored?.tiles?.asOf ?? -Infinity);
    let horizon = retentionHorizon(cutAt, plan.slots);
    let tiles: EntityState['tiles'];
    if (this.tileSlots.length > 0) {
      const tiledHorizon = rawEventsHorizon(cutAt, this.windows);
      if (stored?.tiles !== undefined || this.tilingPays(cutAt, horizon, tiledHorizon)) {
        tiles = { asOf: cutAt, slots: this.cutTiles(cutAt) };
        horizon = tiledHorizon;
      }
    }
    horizon = Math.max(stored?.horizon ?? -Infinity, horizon);
    const retainedFrom = this.foldBase(horizon);
    const { ts, columns } = this.events.slice(retainedFrom);
    return tiles === undefined ? { horizon, base: this.base(), ts, columns } : { horizon, base: this.base(), ts, columns, tiles };
  }

  /**
   * Whether tiling an untiled state drops more raw events (those in `[horizon, tiledHorizon)`)
   * than it adds tiles (per tiled slot, the hops in reach in which it used an event). Counts
   * without building anything, stopping once the tiles reach the events.
   */
  private tilingPays(cutAt: number, horizon: number, tiledHorizon: number): boolean {
    const ts = this.events.buffer.ts.subarray(0, this.events.length);
    const [from, to] = eventRange(ts, { start: horizon, end: tiledHorizon });
    const dropped = to - from;
    let tiles = 0;
    for (const s of this.tileSlots) {
      const slot = this.plan.slots[s]!;
      const hop = slot.hopMs!;
      const [first, end] = eventRange(ts, { start: windowAt(cutAt, slot.windowMs, hop).start, end: tiledUntil(cutAt, hop) });
      let tile = -Infinity;
      for (let i = first; i < end && tiles < dropped; i++) {
        if (ts[i]! < tile + hop || !slotUses(slot, this.events.buffer, i)) continue;
        tile = floorToHop(ts[i]!, hop);
        tiles++;
      }
    }
    return dropped > tiles;
  }

  /** Folds the events before `horizon` into the unwindowed slots (over the stored base); returns the first event kept. */
  private foldBase(horizon: number): number {
    const { plan, accumulators, usedTs, stored } = this;
    const buffer = this.events.buffer;
    usedTs.fill(NaN);
    for (const s of this.baseSlots) {
      const base = stored?.base[s];
      if (base) {
        accumulators[s]!.restore(base.state);
        usedTs[s] = base.ts;
      } else accumulators[s]!.reset();
    }
    let i = 0;
    for (; i < this.events.length && buffer.ts[i]! < horizon; i++) {
      const ts = buffer.ts[i]!;
      for (const s of this.baseSlots) {
        accumulators[s]!.add(i);
        if (slotUses(plan.slots[s]!, buffer, i) && !(usedTs[s]! >= ts)) usedTs[s] = ts;
      }
    }
    return i;
  }

  private base(): (BaseState | null)[] {
    return this.plan.slots.map((_, s): BaseState | null => (Number.isNaN(this.usedTs[s]!) ? null : { state: this.accumulators[s]!.snapshot(), ts: this.usedTs[s]! }));
  }

  /**
   * Per tiled slot, the tiles of the closed hops at `cutAt`: the stored tiles still in reach, with
   * the events not in them yet added (new events, and stored raw events from the stored tiles' end).
   */
  private cutTiles(cutAt: number): (SlotTiles | null)[] {
    const { plan, stored, fresh } = this;
    const buffer = this.events.buffer;
    const out = plan.slots.map((): SlotTiles | null => null);
    for (const s of this.tileSlots) {
      const slot = plan.slots[s]!;
      const hop = slot.hopMs!;
      const from = windowAt(cutAt, slot.windowMs, hop).start;
      const until = tiledUntil(cutAt, hop);
      const prior = stored?.tiles?.slots[s] ?? null;
      const priorUntil = prior === null ? -Infinity : tiledUntil(stored!.tiles!.asOf, hop);
      const accumulator = this.accumulators[s]!;
      const starts: number[] = [];
      const newest: number[] = [];
      const states: unknown[] = [];
      let k = prior === null ? 0 : eventRange(prior.starts, { start: from, end: Infinity })[0];
      const keepPrior = (before: number): void => {
        for (; prior !== null && k < prior.starts.length && prior.starts[k]! < before; k++) {
          starts.push(prior.starts[k]!);
          newest.push(prior.newest[k]!);
          states.push(prior.states[k]);
        }
      };
      const [first, end] = eventRange(buffer.ts.subarray(0, this.events.length), { start: from, end: until });
      let i = first;
      while (i < end) {
        const start = floorToHop(buffer.ts[i]!, hop);
        let j = i;
        while (j < end && buffer.ts[j]! < start + hop) j++;
        keepPrior(start);
        const same = prior !== null && k < prior.starts.length && prior.starts[k] === start ? k++ : -1;
        if (same >= 0) accumulator.restore(prior!.states[same]);
        else accumulator.reset();
        let used = same >= 0 ? prior!.newest[same]! : NaN;
        let added = false;
        for (let e = i; e < j; e++) {
          if ((fresh[e] === 0 && buffer.ts[e]! < priorUntil) || !slotUses(slot, buffer, e)) continue;
          accumulator.add(e);
          added = true;
          used = Number.isNaN(used) ? buffer.ts[e]! : Math.max(used, buffer.ts[e]!);
        }
        if (added || same >= 0) {
          starts.push(start);
          newest.push(used);
          states.push(added ? accumulator.snapshot() : prior!.states[same]);
        }
        i = j;
      }
      keepPrior(until);
      out[s] = { starts: Float64Array.from(starts), newest: Float64Array.from(newest), states: accumulator.compactTiles?.(states) ?? states };
    }
    return out;
  }

}
