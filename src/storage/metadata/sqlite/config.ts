import type { SqliteDriverName } from './sqlite-driver.js';

export interface SqliteMetadataConfig {
  /** The database file, e.g. `.sluice/metadata.db`. */
  readonly path: string;
  /** How long a writer waits for another process's write lock. Default 10 s. */
  readonly busyTimeoutMs?: number;
  /** The SQLite binding; default the preferred one for this Node (see `availableSqliteDrivers`). */
  readonly driver?: SqliteDriverName;
}
