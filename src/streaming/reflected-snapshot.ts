import type { MetadataStore, Snapshot } from '../storage/metadata/metadata-store.js';
import type { OnlineStore, ViewTableInfo } from '../storage/online/online-store.js';

/**
 * The last log entry a snapshot committed from the durable log holds (the lake committer names
 * its content `stream:<source>:<from>-<to>`); undefined for any other snapshot (an ingested file,
 * a purge's rewrite).
 *
 * @example
 * logOffsetOf('stream:events:4-9'); // 9
 */
export function logOffsetOf(contentHash: string): number | undefined {
  const match = /^stream:.*:\d+-(\d+)$/.exec(contentHash);
  return match ? Number(match[1]) : undefined;
}

/**
 * Whether an online table holds `snapshot` of `source` although its marker names an earlier one:
 * every snapshot after the table's, up to and including `snapshot`, was committed from the durable
 * log, and the table holds those log entries (`applied`), or is a compaction (the same rows in
 * other files). Any other snapshot in between (an ingested file, a rewrite) is not in the table:
 * it does not hold `snapshot` then.
 *
 * @example
 * if (await holdsSnapshot(metadata, info, 'events', latest)) await markReflected(...);
 */
export async function holdsSnapshot(metadata: Pick<MetadataStore, 'snapshot'>, info: ViewTableInfo, source: string, snapshot: Snapshot): Promise<boolean> {
  const built = info.snapshots[source] ?? null;
  const applied = info.applied?.[source];
  if (snapshot.version <= (built?.version ?? 0)) return false;
  let at: Snapshot | undefined = snapshot;
  while (at !== undefined && at.version > (built?.version ?? 0)) {
    // A compaction holds the same rows as its parent: a table holding the parent holds it.
    if (at.operation !== 'compaction') {
      const offset = logOffsetOf(at.contentHash);
      if (applied === undefined || offset === undefined || offset > applied) return false;
    }
    at = at.parentId === null ? undefined : await metadata.snapshot(at.parentId);
  }
  return at === undefined ? built === null : at.id === built?.id;
}

/**
 * Moves the marker of the served table of `view` forward to `snapshot` when the table holds it
 * (see `holdsSnapshot`), however many commits it is behind; checked again in the update's
 * transaction, so a marker is never moved by a stale judgement. Resolves whether it moved.
 *
 * @example
 * await markHeldSnapshot(metadata, online, 'txn_stats', 'events', snapshot);
 */
export async function markHeldSnapshot(metadata: Pick<MetadataStore, 'snapshot'>, online: OnlineStore, view: string, source: string, snapshot: Snapshot): Promise<boolean> {
  const table = await online.viewInfo(view);
  if (table === undefined || !(await holdsSnapshot(metadata, table, source, snapshot))) return false;
  const judged = table.snapshots[source]?.id ?? null;
  const unchanged = (info: ViewTableInfo) => (info.snapshots[source]?.id ?? null) === judged && (info.applied?.[source] ?? -1) >= (table.applied?.[source] ?? -1);
  const after = await online.update(view, table.generation, [], () => undefined, { snapshots: { [source]: { id: snapshot.id, version: snapshot.version } } }, { precondition: unchanged });
  return after !== undefined;
}
