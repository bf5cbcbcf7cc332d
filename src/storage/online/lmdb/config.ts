export interface LmdbOnlineStoreConfig {
  /** The LMDB environment directory, e.g. `.sluice/online`. */
  readonly path: string;
  /** Maximum size of the memory map in bytes. Default 64 GiB (sparse; only used pages take disk). */
  readonly mapSize?: number;
  /**
   * Flush on a schedule (every this many ms) instead of at every commit: a commit is visible and
   * resolves without waiting for the disk. For a store whose tables replay from the durable log
   * (the stream processor's). A power loss or OS crash may then lose the last commits, or damage
   * the file: the next open after such a restart finds the "unflushed" marker of an earlier boot,
   * removes the store and starts empty (the tables are rebuilt: see docs/real-time.md). Ignored
   * where the system gives no boot id. Default: flush at every commit.
   */
  readonly flushEveryMs?: number;
  /** How long an open waits for another process opening the same store (its restart check). Default 60 s. */
  readonly openLockTimeoutMs?: number;
}
