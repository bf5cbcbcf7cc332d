import type { MetadataStore } from '../storage/metadata/metadata-store.js';

/**
 * The sources among `names` that hold no data yet: no snapshot committed to the lake (never
 * ingested, no pushed event committed yet, a transform never run). What `apply` and
 * `materialize` name so that an empty online store is never a silent 0.
 *
 * @example
 * await sourcesWithoutData(platform.metadata, ['transactions', 'customers']); // ['customers']
 */
export async function sourcesWithoutData(metadata: Pick<MetadataStore, 'latestSnapshot'>, names: readonly string[]): Promise<string[]> {
  const latest = await Promise.all(names.map((name) => metadata.latestSnapshot(name)));
  return names.filter((_, i) => latest[i] === undefined);
}
