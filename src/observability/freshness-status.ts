import { isStreamed, type Project } from '../definitions/index.js';
import type { MetadataStore } from '../storage/metadata/metadata-store.js';
import type { EventLog } from '../storage/log/event-log.js';
import type { OnlineStore } from '../storage/online/online-store.js';
import { latestSnapshots, snapshotDataTime } from '../serving/latest-snapshots.js';
import { servedView, tableDataTime } from '../serving/served-table.js';
import { toIso } from '../time/index.js';
import { freshnessVerdict } from './freshness-verdict.js';

/** The freshness of one source or feature view. */
export interface FreshnessStatus {
  readonly kind: 'source' | 'view';
  readonly name: string;
  /** The declared SLA in seconds; null when none is declared (it is then never stale by age; a view still is when behind its source's committed data). */
  readonly slaSeconds: number | null;
  /** ISO-8601 UTC: the newest committed data (a source) or the newest data its online table reflects (a view); null: none. */
  readonly dataAt: string | null;
  /** Seconds from `dataAt` to now; null when there is no data. */
  readonly lagSeconds: number | null;
  readonly stale: boolean;
  /** Why it is stale; null when fresh. */
  readonly reason: string | null;
}

/** Where freshness is read from; `log` only for projects with stream or CDC sources. */
export interface FreshnessInputs {
  readonly metadata: MetadataStore;
  readonly online: OnlineStore;
  readonly log?: () => Promise<EventLog>;
  readonly now: number;
}

/**
 * Evaluates every source and feature view (see `freshnessVerdict`): a source by its newest
 * committed data (the commit time of its newest snapshot that added rows and, for a streamed
 * source, the log's newest acknowledgement that kept an event: `snapshotDataTime`, `lastKept`); a view by its online table, as serving judges it: STALE when newer data was
 * committed than it holds (with or without an SLA: its values are served STALE), or when the
 * newest data it reflects is past the view's SLA. A view's `dataAt` is the newest data its table
 * reflects, also when that is an older snapshot than the latest. A view with no online table is
 * stale when its source has committed data (it serves `NOT_MATERIALIZED`) or it declares an SLA.
 *
 * @example
 * const rows = await evaluateFreshness(project, { metadata, online, log: () => platform.log(), now: Date.now() });
 */
export async function evaluateFreshness(project: Project, inputs: FreshnessInputs): Promise<FreshnessStatus[]> {
  const { now } = inputs;
  const latest = await latestSnapshots(inputs.metadata, project);
  const log = inputs.log && project.sources.some(isStreamed) ? await inputs.log() : undefined;
  const row = (kind: FreshnessStatus['kind'], name: string, slaMs: number | undefined, dataAt: number | null, staleBecause?: string): FreshnessStatus => {
    const verdict = slaMs === undefined ? undefined : freshnessVerdict(slaMs, dataAt, now);
    const reason = staleBecause ?? verdict?.reason ?? null;
    return {
      kind, name, slaSeconds: slaMs === undefined ? null : slaMs / 1000, dataAt: dataAt === null ? null : toIso(dataAt),
      lagSeconds: dataAt === null ? null : Math.max(0, now - dataAt) / 1000, stale: reason !== null, reason,
    };
  };
  const rows: FreshnessStatus[] = [];
  // The newest committed data of each source (a transform: its latest snapshot): a view without a table is behind it.
  const committed = new Map<string, number | null>();
  for (const source of project.sources) {
    let dataAt = latest.get(source.name)?.createdAt ?? null;
    if (log && isStreamed(source)) {
      // The newest entry that kept an event: one whose every event was rejected is no new data.
      const kept = log.lastKept(source.name);
      if (kept !== undefined) dataAt = Math.max(dataAt ?? kept, kept);
    }
    committed.set(source.name, dataAt);
    rows.push(row('source', source.name, source.freshnessMs, dataAt));
  }
  for (const view of project.featureViews) {
    const info = await inputs.online.viewInfo(view.name);
    if (info === undefined) {
      // With data committed upstream it is as far behind as it can be: stale with or without an SLA.
      const behind = (committed.get(view.source) ?? latest.get(view.source)?.createdAt ?? null) !== null;
      rows.push(row('view', view.name, view.freshnessMs, null, view.freshnessMs === undefined && !behind ? undefined : 'not materialized: it serves no data'));
      continue;
    }
    const served = servedView(info, view.hash, latest, view.freshnessMs === undefined ? undefined : { freshnessMs: view.freshnessMs, now });
    // A table behind the latest snapshot still reflects the data of the one it holds.
    const committedAt = new Map<string, number>();
    for (const [source, built] of Object.entries(info.snapshots)) {
      if (built === null || latest.get(source)?.id === built.id) continue;
      const held = await inputs.metadata.snapshot(built.id);
      const heldAt = held === undefined ? null : await snapshotDataTime(inputs.metadata, held);
      if (heldAt !== null) committedAt.set(built.id, heldAt);
    }
    rows.push(row('view', view.name, view.freshnessMs, tableDataTime(info, latest, committedAt), served.status === 'STALE' ? served.reason : undefined));
  }
  return rows;
}
