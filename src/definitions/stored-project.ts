import type { Project } from './types.js';

type Keyed = { joinKey?: string; joinKeys?: readonly string[] };
const withKeys = <T extends Keyed>(item: T): T =>
  item.joinKeys !== undefined || item.joinKey === undefined ? item : ((({ joinKey, ...rest }) => ({ ...rest, joinKeys: [joinKey!] }))(item) as unknown as T);

/**
 * A compiled project as the registry stored it, in today's shape: projects applied before
 * composite keys carry `joinKey: "k"` on entities and views, read as `joinKeys: ["k"]` (their
 * hashes are unchanged, so nothing is rematerialized).
 *
 * @example
 * const project = storedProject(JSON.parse(row.project));
 */
export function storedProject(stored: Project): Project {
  return {
    ...stored,
    entities: stored.entities.map((e) => withKeys(e as typeof e & Keyed)),
    featureViews: stored.featureViews.map((v) => withKeys(v as typeof v & Keyed)),
    requestViews: stored.requestViews ?? [],
  };
}
