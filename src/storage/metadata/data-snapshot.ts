import type { MetadataStore, Snapshot } from './metadata-store.js';

/**
 * The snapshot whose data `snapshot` holds: itself, or for a compaction (same rows in fewer
 * files), its nearest ancestor that is not a compaction. When that ancestor is gone (its history
 * expired), the oldest compaction still known.
 *
 * @example
 * (await dataSnapshot(metadata, compacted)).id; // the micro-batch snapshot it compacted
 */
export async function dataSnapshot(metadata: Pick<MetadataStore, 'snapshot'>, snapshot: Snapshot): Promise<Snapshot> {
  let at = snapshot;
  while (at.operation === 'compaction' && at.parentId !== null) {
    const parent = await metadata.snapshot(at.parentId);
    if (parent === undefined) break;
    at = parent;
  }
  return at;
}

/**
 * Whether snapshot `id` (null: none) holds the same data as `current` (undefined: none): the same
 * snapshot, or one a compaction rewrote into the other's files without changing a row.
 *
 * @example
 * if (await sameData(metadata, lineage.inputs.events, latest)) return; // up to date
 */
export async function sameData(metadata: Pick<MetadataStore, 'snapshot'>, id: string | null, current: Snapshot | undefined): Promise<boolean> {
  if ((current?.id ?? null) === id) return true;
  if (id === null || current === undefined) return false;
  const read = await metadata.snapshot(id);
  return read !== undefined && read.source === current.source && (await dataSnapshot(metadata, read)).id === (await dataSnapshot(metadata, current)).id;
}
