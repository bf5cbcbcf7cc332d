import type { Project } from '../definitions/index.js';
import type { MetadataStore } from '../storage/metadata/metadata-store.js';
import type { SnapshotRef } from '../storage/online/online-store.js';
import { logOffsetOf } from '../streaming/reflected-snapshot.js';

/** A source's latest snapshot, and for one committed from the durable log, the last log offset it holds. */
export interface LatestSnapshot extends SnapshotRef {
  readonly logOffset?: number;
  /** UTC epoch ms: when it was committed (the time of the newest data it brought; freshness SLAs). */
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
    latest.set(source.name, { id: snapshot.id, version: snapshot.version, createdAt: snapshot.createdAt, ...(logOffset === undefined ? {} : { logOffset }) });
  }
  return latest;
}
