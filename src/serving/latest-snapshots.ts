import type { Project } from '../definitions/index.js';
import type { MetadataStore, Snapshot } from '../storage/metadata/metadata-store.js';
import type { SnapshotRef } from '../storage/online/online-store.js';
import { logOffsetOf } from '../streaming/reflected-snapshot.js';

/** A source's latest snapshot, and for one committed from the durable log, the last log offset it holds. */
export interface LatestSnapshot extends SnapshotRef {
  readonly logOffset?: number;
  /** UTC epoch ms: the time of the newest data the snapshot holds (`snapshotDataTime`; freshness SLAs); absent: no data. */
  readonly createdAt?: number;
}

/** Per source, its latest committed lake snapshot; a source with none is absent. */
export type LatestSnapshots = ReadonlyMap<string, LatestSnapshot>;

/**
 * Reads the latest committed snapshot of every source of a project from the metadata store. The
 * server calls it on an interval, never per request; `getOnlineFeatures` compares it with the
 * snapshots each online table was built from to say `STALE`.
 *
 * @example
 * const latest = await latestSnapshots(platform.metadata, project);
 */
export async function latestSnapshots(metadata: MetadataStore, project: Project): Promise<LatestSnapshots> {
  const latest = new Map<string, LatestSnapshot>();
  for (const source of project.sources) {
    const snapshot = await metadata.latestSnapshot(source.name);
    if (!snapshot) continue;
    const logOffset = logOffsetOf(snapshot.contentHash);
    const dataAt = await snapshotDataTime(metadata, snapshot);
    latest.set(source.name, { id: snapshot.id, version: snapshot.version, ...(dataAt === null ? {} : { createdAt: dataAt }), ...(logOffset === undefined ? {} : { logOffset }) });
  }
  return latest;
}

/** How far back `snapshotDataTime` looks for a snapshot that added rows. */
const DATA_TIME_LOOKBACK = 1_000;

/**
 * The time of the newest data a snapshot holds: when the newest snapshot up to it that added rows
 * was committed. A commit that added none (a stream's entries whose every event was rejected, a
 * file whose every row was) brings no new data, so it does not make a source or a view fresh
 * (review rev10: a producer whose clock was a day off stayed FRESH). Null when no snapshot up to it
 * added rows; past the look-back, the oldest one read (an earlier time: never fresher than true).
 *
 * @example
 * await snapshotDataTime(platform.metadata, await platform.metadata.latestSnapshot('payments'));
 */
export async function snapshotDataTime(metadata: MetadataStore, snapshot: Snapshot): Promise<number | null> {
  if (snapshot.addedRows > 0) return snapshot.createdAt;
  if (snapshot.parentId === null) return null;
  const history = await metadata.listSnapshots({ source: snapshot.source, limit: DATA_TIME_LOOKBACK });
  const earlier = history.filter((s) => s.version <= snapshot.version);
  const withRows = earlier.find((s) => s.addedRows > 0);
  if (withRows !== undefined) return withRows.createdAt;
  const oldest = earlier.at(-1);
  return history.length === DATA_TIME_LOOKBACK && oldest !== undefined && snapshot.rowCount > 0 ? oldest.createdAt : null;
}
