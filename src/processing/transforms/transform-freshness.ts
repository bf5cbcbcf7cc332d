import type { SluiceContext } from '../../context.js';
import type { Project, Transform } from '../../definitions/index.js';
import type { Snapshot, TransformLineage } from '../../storage/metadata/metadata-store.js';
import { sameData } from '../../storage/metadata/data-snapshot.js';

/** A transform's table against what a run now would read: its inputs' current snapshots, its last run's lineage, and whether that run read exactly those with this definition. */
export interface TransformTableState {
  readonly current: ReadonlyMap<string, Snapshot | undefined>;
  /** Input name to the snapshot id a run now would read (null: the input has none). */
  readonly inputs: Readonly<Record<string, string | null>>;
  readonly latest: Snapshot | undefined;
  readonly last: TransformLineage | undefined;
  readonly upToDate: boolean;
}

/**
 * The one rule of "up to date": the table's last snapshot was computed by this definition from
 * the current snapshot of every input, or from one with the same data (a compaction since).
 *
 * @example
 * if ((await transformTableState(platform, transform)).upToDate) return;
 */
export async function transformTableState(ctx: SluiceContext, transform: Transform): Promise<TransformTableState> {
  const current = new Map<string, Snapshot | undefined>();
  for (const input of transform.inputs) current.set(input, await ctx.metadata.latestSnapshot(input));
  const inputs = Object.fromEntries([...current].map(([n, s]) => [n, s?.id ?? null]));
  const latest = await ctx.metadata.latestSnapshot(transform.name);
  const last = latest && (await ctx.metadata.snapshotLineage(latest.id));
  let upToDate = latest !== undefined && last?.transformHash === transform.hash;
  // An input compacted since holds the same rows: the table is still up to date.
  for (const input of transform.inputs) upToDate = upToDate && (await sameData(ctx.metadata, last?.inputs[input] ?? null, current.get(input)));
  return { current, inputs, latest, last, upToDate };
}

/**
 * The transforms `transform` reads, directly or through others, whose table is not up to date
 * (never run, another definition, or older input snapshots): a run of `transform` alone reads
 * them as they are, so its caller should say so. Inputs first.
 *
 * @example
 * await transformsBehind(platform, project, transform); // ['customer_360']
 */
export async function transformsBehind(ctx: SluiceContext, project: Project, transform: Transform): Promise<string[]> {
  const byName = new Map((project.transforms ?? []).map((t) => [t.name, t]));
  const behind = new Map<string, boolean>();
  const visit = async (t: Transform): Promise<boolean> => {
    const known = behind.get(t.name);
    if (known !== undefined) return known;
    let stale = false;
    for (const input of t.inputs) {
      const upstream = byName.get(input);
      if (upstream !== undefined && (await visit(upstream))) stale = true;
    }
    stale = stale || !(await transformTableState(ctx, t)).upToDate;
    behind.set(t.name, stale);
    return stale;
  };
  for (const input of transform.inputs) {
    const upstream = byName.get(input);
    if (upstream !== undefined) await visit(upstream);
  }
  return [...behind].filter(([, stale]) => stale).map(([name]) => name);
}
