/**
 * Which definition of each feature view was last materialized into the online store: written by
 * `materialize` once a view's new table is served (one row per view, the latest). The online
 * store may lose its tables (an LMDB store removed after a power loss, a Redis without
 * persistence); this record, in the durable metadata store, says which of them `serve` and
 * `worker` must build again by themselves: a view whose table is missing although its current
 * definition was materialized. Nothing in Sluice removes a view's table on purpose (erasure and
 * retention remove entries, a changed definition switches tables blue/green), so a missing table
 * with a record of the current definition is a loss.
 */

/** The last materialization of one view. */
export interface MaterializedView {
  readonly view: string;
  /** The definition hash of the table it wrote (`FeatureView.hash`). */
  readonly viewHash: string;
  /** UTC epoch ms the table's states answered from. */
  readonly materializedAt: number;
  /** The run that wrote it, if tracked. */
  readonly runId: string | null;
}

/**
 * Semantics: `record` replaces the view's row (the latest materialization wins, whatever its
 * definition), or with `ifAbsent` writes it only when the view has none (atomically: a row
 * another writer recorded first is kept); `list` returns one row per view, sorted by view name;
 * rows written by one handle are read by any other (another process).
 */
export interface MaterializedViewStore {
  record(materialized: MaterializedView, options?: { readonly ifAbsent?: boolean }): Promise<void>;
  list(): Promise<MaterializedView[]>;
}
