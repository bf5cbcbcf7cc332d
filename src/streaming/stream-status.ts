import { isStreamed, type Project } from '../definitions/index.js';
import type { EventLog } from '../storage/log/event-log.js';
import type { Lease } from '../storage/metadata/metadata-store.js';
import type { OnlineStore } from '../storage/online/online-store.js';
import { activeRunnerOf, standbysOf, type ConnectorLeaseHolder } from './connector-leases.js';

/** Where one stream or CDC source stands, read from the stores (no running process needed). */
export interface StreamSourceStatus {
  readonly source: string;
  readonly kind: 'stream' | 'cdc';
  /** The last durable log offset (log entries are batches). */
  readonly offset: number;
  /** Log entries not yet committed to the lake. */
  readonly lakeLag: number;
  /** ISO-8601: when the newest entry was acknowledged; null when none is in the log. */
  readonly lastAckAt: string | null;
  /** Events acknowledged in the last minute, per second. */
  readonly eventsPerSecond: number;
  /** The connector's stored position (a stream sequence, an LSN); null when none. */
  readonly connectorPosition: string | null;
  /** Per view of the source: log entries its online table still lacks (null: no table). */
  readonly views: Readonly<Record<string, number | null>>;
  /**
   * For a source with a connector, when the leases were given: the process that is its one active
   * runner (it holds the lease `connector:<source>`), or null when none is (no process runs it, or
   * the one that did is gone and no standby took over yet).
   */
  readonly activeRunner?: ConnectorLeaseHolder | null;
  /** With `activeRunner`: the processes standing by to take the connector over (`since`: when each started standing by, `expiresAt`: its record's expiry). */
  readonly standbys?: readonly ConnectorLeaseHolder[];
}

/**
 * The state of every stream and CDC source of a project: log offset, lake lag, rates, connector
 * position, how far each online table is behind the log, and with `leases` each connector's active runner.
 *
 * @example
 * const rows = await streamStatus(project, await platform.log(), await platform.online(), Date.now(), await platform.metadata.listLeases());
 */
export async function streamStatus(project: Project, log: EventLog, online: OnlineStore, now: number, leases?: readonly Lease[]): Promise<StreamSourceStatus[]> {
  const rows: StreamSourceStatus[] = [];
  for (const source of project.sources) {
    if (!isStreamed(source)) continue;
    const offset = log.head(source.name);
    const recent = log.read(source.name, Math.max(0, offset - 1_000), 1_000);
    const lastMinute = recent.filter((e) => e.ackTime >= now - 60_000).reduce((n, e) => n + e.events.length, 0);
    const views: Record<string, number | null> = {};
    for (const view of project.featureViews.filter((v) => v.source === source.name)) {
      const table = await online.viewInfo(view.name);
      views[view.name] = table === undefined ? null : Math.max(0, offset - (table.applied?.[source.name] ?? 0));
    }
    const last = recent.at(-1);
    rows.push({
      source: source.name, kind: source.kind, offset, lakeLag: offset - log.checkpoint('lake', source.name),
      lastAckAt: last ? new Date(last.ackTime).toISOString() : null, eventsPerSecond: Math.round((lastMinute / 60) * 10) / 10,
      connectorPosition: source.connector ? (log.position(source.name, source.connector.kind) ?? null) : null, views,
      ...(source.connector && leases ? { activeRunner: activeRunnerOf(leases, source.name), standbys: standbysOf(leases, source.name) } : {}),
    });
  }
  return rows;
}
