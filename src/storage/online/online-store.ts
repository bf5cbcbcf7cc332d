import type { EntityState } from '../../processing/entity-state.js';

/** What the store knows of a view's current online table. */
export interface ViewTableInfo {
  /** The definition hash of the view the table was built for; serving refuses a mismatch. */
  readonly viewHash: string;
  readonly materializedAt: number;
  readonly horizon: number;
  readonly entityCount: number;
  readonly generation: number;
}

/**
 * The online store: per (feature view, entity key), the state that answers the view's features
 * at "now" (see `EntityState`). Semantics every implementation keeps:
 * - `replaceView` is atomic for readers: a read sees the whole old table or the whole new one,
 *   never a mix, and never a missing entity in between. A crash mid-write leaves the old table.
 * - `read` returns states in the order of `keys`, `undefined` where the view has no state for a
 *   key. Keys are strings (int64 join keys are read in their decimal form).
 * - Values round-trip exactly: numbers, strings, booleans and nulls as written.
 */
export interface OnlineStore {
  readonly kind: string;
  replaceView(view: string, info: Omit<ViewTableInfo, 'generation' | 'entityCount'>, entries: AsyncIterable<readonly [string, EntityState]>): Promise<ViewTableInfo>;
  viewInfo(view: string): Promise<ViewTableInfo | undefined>;
  read(view: string, keys: readonly string[]): Promise<{ info: ViewTableInfo | undefined; states: (EntityState | undefined)[] }>;
  close(): Promise<void>;
}
