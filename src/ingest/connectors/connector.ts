import type { Source } from '../../definitions/index.js';

/** What became of a batch of events handed to Sluice. */
export interface AppendOutcome {
  /** New events now durable in Sluice (as `sluice ingest` counts them: duplicates are not among them). */
  readonly accepted: number;
  /** Events whose id the source has already seen (pushed, streamed or ingested from a file): acknowledged, stored once. */
  readonly duplicates: number;
  /**
   * Events refused, by index in the batch, with the reason; each is also in the dead-letter store.
   * `repeat`: the same event (its text) was refused within the source's dedupe horizon (a retry
   * whose first answer was lost): dead-lettered and counted (metrics) once, by the first.
   */
  readonly rejected: readonly { readonly index: number; readonly reason: string; readonly repeat?: true }[];
}

/** What a connector knows of each event of a batch upstream, parallel to its texts. */
export interface UpstreamDetails {
  /** Where upstream holds each event (`stream sequence 17`, `LSN 0/16B3748 of table public.accounts`): a refused one's dead letter names it. */
  readonly at?: readonly (string | undefined)[];
  /** Why an event could not be read as text at all (`invalidUtf8Reason`): it is refused with this reason, before any other rule. */
  readonly problems?: readonly (string | undefined)[];
}

/**
 * Where a connector hands its events. Semantics every sink keeps:
 * - `append` validates the events against the source (as ingest does), and in one atomic,
 *   durable step stores the accepted ones, the dead letters of the rejected ones, and the
 *   connector's new `position`. It resolves only once all of that is durable: acknowledge
 *   upstream (a JetStream ack, a Postgres flush LSN) after it resolves, never before.
 * - Each event is the JSON text of one object (numbers keep their digits: int64 stays exact).
 *   `upstream` says where each is held upstream and which could not be read (see `UpstreamDetails`).
 * - `position()` is the last position stored by `append` (undefined before the first): after a
 *   restart, skip upstream records at or before it, so nothing is counted twice.
 * - Appends are conditional: one stores only if the stored position is still the one the
 *   connector last read with `position()` or appended after it; when another process (a second
 *   runner of the connector) moved it meanwhile, `append` rejects with a ConflictError and stores
 *   nothing. Read `position()` again and resume after it.
 * - Appends of one connector are applied in call order.
 */
export interface ConnectorSink {
  position(): Promise<string | undefined>;
  append(events: readonly string[], position?: string, upstream?: UpstreamDetails): Promise<AppendOutcome>;
}

/** What a running connector reports (`sluice status`). */
export interface ConnectorStatus {
  readonly source: string;
  readonly kind: string;
  readonly state: 'starting' | 'running' | 'retrying' | 'stopped' | 'failed';
  /** The last position appended (a stream sequence, an LSN). */
  readonly position?: string;
  /** Records known upstream but not yet appended, when the upstream can tell; null while it cannot be asked (not connected). */
  readonly lag?: number | null;
  readonly received: number;
  readonly lastError?: string;
}

/** A started connector. `stop` ends it cleanly: in-flight appends finish, nothing is acknowledged that is not durable. */
export interface RunningConnector {
  status(): ConnectorStatus;
  stop(): Promise<void>;
}

/**
 * A connector's messages, by level: `warn` for what a user should know and may act on (a dropped
 * column, a TRUNCATE, a retry, data the upstream no longer holds), `error` for failures. The
 * caller names the source: messages do not repeat it.
 */
export type ConnectorLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/**
 * What a connector saw upstream that a person must know beyond its state, recorded as a health
 * condition by the process running it (and also logged at `warn`):
 * - `lost`: upstream positions `from` to `to` (inclusive) were removed before Sluice read them
 *   (a JetStream stream's limits): events of the source among them can no longer be read.
 * - `columns_dropped`: declared columns the upstream table no longer has; their values are written as null.
 */
export type ConnectorIncident =
  | { readonly kind: 'lost'; readonly from: number; readonly to: number; readonly message: string }
  | { readonly kind: 'columns_dropped'; readonly columns: readonly string[]; readonly message: string };

export interface ConnectorOptions {
  readonly log?: ConnectorLog;
  readonly report?: (incident: ConnectorIncident) => void;
}

/** Starts a source's connector; settings written with `env()` are resolved here (see `resolveSetting`). */
export type StartConnector = (source: Source, sink: ConnectorSink, options: ConnectorOptions) => Promise<RunningConnector>;
