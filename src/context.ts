import type { Project, RequestFunctions } from './definitions/index.js';
import type { MetadataStore } from './storage/metadata/metadata-store.js';
import type { Lake } from './storage/lake/lake.js';
import type { OnlineStore } from './storage/online/online-store.js';
import type { SqlEngine } from './storage/engine/sql-engine.js';
import type { EventLog } from './storage/log/event-log.js';
import type { LineageEmitter } from './observability/lineage/lineage-emitter.js';

/**
 * What jobs and servers run against: the stores, behind their interfaces. The concrete adapters
 * are chosen in one place (`platform.ts`), from the configuration. Heavy engines open lazily, so
 * a server that only serves never starts DuckDB.
 */
export interface SluiceContext {
  readonly metadata: MetadataStore;
  readonly lake: Lake;
  engine(): Promise<SqlEngine>;
  online(): Promise<OnlineStore>;
  /** The durable log of streamed events (opened on first use). */
  log(): Promise<EventLog>;
  /** The clock, UTC epoch milliseconds. Tests pass a fixed one. */
  readonly now: () => number;
  /** Where temporary and output files go when the caller gives no path. */
  readonly dataDir: string;
  /** The functions of the project's request views, checked against the applied definitions (see `bindRequestFunctions`). */
  requestFunctions?(project: Project): Promise<RequestFunctions>;
  /** Emits OpenLineage events of tracked runs, when configured (see `lineageConfigFromEnv`). */
  readonly lineage?: LineageEmitter;
}
