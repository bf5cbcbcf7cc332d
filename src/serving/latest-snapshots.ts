import type { Project } from '../definitions/index.js';
import type { MetadataStore } from '../storage/metadata/metadata-store.js';
import type { SnapshotRef } from '../storage/online/online-store.js';

/** Per source, its latest committed lake snapshot; a source with none is absent. */
export type LatestSnapshots = ReadonlyMap<string, SnapshotRef>;

/**
 * Reads the latest committed snapshot of every source of a project from the metadata store. The
 * server calls it on an interval, never per request; `getOnlineFeatures` compares it with the
 * snapshots each online table was built from to say `STALE`.
 *
 * @example
 * const latest = await latestSnapshots(platform.metadata, project);
 */
export async function latestSnapshots(metadata: MetadataStore, project: Project): Promise<LatestSnapshots> {
  const latest = new Map<string, SnapshotRef>();
  for (const source of project.sources) {
    const snapshot = await metadata.latestSnapshot(source.name);
    if (snapshot) latest.set(source.name, { id: snapshot.id, version: snapshot.version });
  }
  return latest;
}
