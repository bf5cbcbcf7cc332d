import type { ScrubReport } from '../scrub-report.js';
import type { FeatureView } from '../../definitions/index.js';
import type { EntityState } from '../../processing/entity-state.js';

/** A committed lake snapshot of one source: its id and its version (versions only grow). */
export interface SnapshotRef {
  readonly id: string;
  readonly version: number;
}

/** What a writer says about the table it writes. */
export interface ViewTableSpec {
  /**
   * The view definition the table was built for. Serving evaluates the table with it, so an old
   * table keeps answering its own features while a changed definition is materialized.
   */
  readonly definition: FeatureView;
  /** UTC epoch ms the states answer from. */
  readonly materializedAt: number;
  readonly horizon: number;
  /**
   * Per source the view reads, the snapshot whose events the table holds: the one it was built
   * from, advanced as incremental updates apply later snapshots; null when it had none.
   */
  readonly snapshots: Readonly<Record<string, SnapshotRef | null>>;
  /** Per stream source, the last durable-log offset whose events the table holds (absent: none). */
  readonly applied?: Readonly<Record<string, number>>;
}

/** What an incremental update records with its states, in the same transaction. */
export interface TableProgress {
  readonly applied?: Readonly<Record<string, number>>;
  readonly snapshots?: Readonly<Record<string, SnapshotRef | null>>;
  /** UTC epoch ms: the acknowledgement time of the newest events applied. */
  readonly updatedAt?: number;
}

/** A view's online table as stored: identified by the definition hash and a generation id. */
export interface ViewTableInfo extends ViewTableSpec {
  readonly view: string;
  /** `definition.hash`: the hash of what determines the values. */
  readonly viewHash: string;
  readonly entityCount: number;
  /** Unique per write, never shared between writers, increasing in the order writes started. */
  readonly generation: number;
  /** UTC epoch ms of the newest incremental update; absent when none since the table was written. */
  readonly updatedAt?: number;
}

/** Which entries `OnlineStore.remove` removes. */
export type OnlineRemoval = { readonly keys: readonly string[] } | { readonly where: (key: string, state: EntityState) => boolean };

/** What `gc` removed. */
export interface OnlineGcReport {
  /** Abandoned tables: left by a writer that died or failed, or replaced but not yet dropped. */
  readonly generations: number;
  readonly entries: number;
}

/** How an `OnlineStore.update` runs. */
export interface OnlineUpdateOptions {
  /** Checked in the update's transaction against the table's info: false, and the update does nothing. */
  readonly precondition?: (info: ViewTableInfo) => boolean;
  /**
   * Called once the transaction holds the new states, before it commits: an update issued from
   * then on commits after this one (a pipeline need not wait for this one's commit and flush).
   */
  readonly written?: () => void;
  /**
   * The update commits nothing before this resolves, and nothing at all if it rejects (the update
   * then rejects with its error): e.g. the durability of the log entry the update applies, so
   * online state never holds events the log may lose. The store may read the current states and
   * make the new ones meanwhile (then `apply` may be called more than once for a key, on states
   * another writer changed in between: it must be a pure function of its arguments).
   */
  readonly commitAfter?: Promise<unknown>;
  /** With `commitAfter`: called once the new states are made, when the update waits only for `commitAfter` (for status). */
  readonly made?: () => void;
}

/**
 * The online store: per (feature view, entity key), the state that answers the view's features
 * at "now" (see `EntityState`). Semantics every implementation keeps:
 * - `replaceView` writes a new table under its own generation id, then makes it the view's
 *   served table in one atomic switch and drops the table it replaced. Readers see the whole old
 *   table or the whole new one, never a mix and never a missing entity. Writers never share a
 *   generation: a writer that fails or is killed removes (or leaves for `gc`) only its own, and
 *   the served table stays whole. Of concurrent writers of one view, the one that started last
 *   wins; an earlier one that finishes later is discarded and gets the winner's info back.
 * - `gc` removes tables no view serves and no live writer owns (a writer killed mid-write, a
 *   crash between the switch and the drop), and never touches a served table or a live write.
 *   `replaceView` runs it first, so abandoned tables do not outlive the next write.
 * - `read` returns the served table's info and states in the order of `keys`, `undefined` where
 *   the table has no state for a key. Keys are strings (int64 join keys in decimal form). A key
 *   longer than `MAX_KEY_BYTES` is never stored (ingest refuses it): it reads as absent and
 *   fails no other key of the read.
 * - Values round-trip exactly: numbers, strings, booleans and nulls as written.
 * - `update` never mixes with a switch: it applies to the table served when it runs, or to none.
 */
export interface OnlineStore {
  readonly kind: string;
  replaceView(spec: ViewTableSpec, entries: AsyncIterable<readonly [string, EntityState]>): Promise<ViewTableInfo>;
  viewInfo(view: string): Promise<ViewTableInfo | undefined>;
  read(view: string, keys: readonly string[]): Promise<{ info: ViewTableInfo | undefined; states: (EntityState | undefined)[] }>;
  /**
   * Updates the served table of `view` in place, atomically and durably: in one transaction,
   * `apply` gets each key's current state and returns the new one (undefined: unchanged), and
   * `progress` is merged into the table's info. Does nothing and resolves undefined when the
   * served table is no longer `generation` (a rematerialize switched tables: the caller replays
   * its events into the new one), or when `options.precondition` says no (checked in the same
   * transaction); else resolves the info after the update. See {@link OnlineUpdateOptions}.
   */
  update(view: string, generation: number, keys: readonly string[], apply: (key: string, state: EntityState | undefined) => EntityState | undefined, progress?: TableProgress, options?: OnlineUpdateOptions): Promise<ViewTableInfo | undefined>;
  gc(): Promise<OnlineGcReport>;
  /**
   * Physically removes entries of the served table of `view` in one transaction: the states of
   * `keys`, or every state `where` selects (it sees each key and its state). Resolves how many
   * entries were removed; 0 when the view has no served table. A removed key reads as absent.
   * With `dryRun`, counts the entries it would remove and removes none.
   */
  remove(view: string, select: OnlineRemoval, options?: { readonly dryRun?: boolean }): Promise<number>;
  close(): Promise<void>;
  /**
   * Clears the bytes of removed entries from the store's files, where they could linger (LMDB's
   * free pages and page gaps). Reports `compacted: false` with the reason when it cannot yet.
   */
  scrubFreed(): Promise<ScrubReport>;
}
