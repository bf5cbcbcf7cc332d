import { resolve } from 'node:path';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { DatasetRecord, MetadataStore, Snapshot } from '../../storage/metadata/metadata-store.js';
import type { DatasetManifest } from './build-dataset.js';

/**
 * The snapshot each source is read at for a whole build: the one `requested` names (null: the
 * source read as empty), else the source's latest. Fails naming a requested snapshot that does
 * not exist (any more), belongs to another source, or is for a source no feature reads.
 */
export async function pinSnapshots(metadata: MetadataStore, sources: readonly string[], requested: Readonly<Record<string, string | null>> = {}): Promise<Map<string, Snapshot | undefined>> {
  const pinned = new Map<string, Snapshot | undefined>();
  for (const name of Object.keys(requested)) {
    if (!sources.includes(name)) throw new ValidationError('VALIDATION_FAILED', `a snapshot is given for source "${name}", but no selected feature reads it (sources: ${[...new Set(sources)].join(', ')})`);
  }
  for (const source of sources) {
    if (pinned.has(source)) continue;
    const id = requested[source];
    if (id === undefined) {
      pinned.set(source, await metadata.latestSnapshot(source));
      continue;
    }
    const snapshot = id === null ? undefined : await metadata.snapshot(id);
    if (id !== null && snapshot === undefined) {
      throw new NotFoundError('NOT_FOUND', `snapshot "${id}" of source "${source}" does not exist (any more); the dataset cannot be rebuilt exactly (list what exists with: sluice list snapshots)`);
    }
    if (snapshot !== undefined && snapshot.source !== source) {
      throw new ValidationError('VALIDATION_FAILED', `snapshot "${id}" belongs to source "${snapshot.source}", not "${source}"`);
    }
    pinned.set(source, snapshot);
  }
  return pinned;
}

/** What the metadata store records of a built dataset. */
export function datasetRecord(manifest: DatasetManifest, createdAt: number): DatasetRecord {
  return {
    id: manifest.datasetId, path: resolve(manifest.path), format: manifest.format,
    spine: resolve(manifest.spine.path), spineSha256: manifest.spine.sha256, timestampColumn: manifest.spine.timestampColumn,
    features: manifest.features, definitions: manifest.definitions, snapshots: manifest.snapshots, rowCount: manifest.rowCount, createdAt,
    ...(manifest.asKnown ? { asKnown: true } : {}),
    ...(manifest.model === undefined ? {} : { model: manifest.model }),
    ...(manifest.purges === undefined ? {} : { purges: manifest.purges }),
  };
}
