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

/**
 * The time of the newest data a snapshot holds: when the newest snapshot up to it that added rows
 * was committed (`MetadataStore.snapshotDataTime`). A commit that added none (a stream's entries
 * whose every event was rejected, a file whose every row was) brings no new data, so it does not
 * make a source or a view fresh (review rev10: a producer whose clock was a day off stayed FRESH).
 * Null when it holds no data.
 *
 * @example
 * await snapshotDataTime(platform.metadata, await platform.metadata.latestSnapshot('payments'));
 */
export async function snapshotDataTime(metadata: MetadataStore, snapshot: Snapshot): Promise<number | null> {
  if (snapshot.addedRows > 0) return snapshot.createdAt;
  return (await metadata.snapshotDataTime(snapshot.source, snapshot.version)) ?? null;
}
