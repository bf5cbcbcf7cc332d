import type { FeatureView, Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import type { EntityState } from '../../processing/entity-state.js';
import { materialize } from '../../processing/materialize.js';
import type { PurgeMatch, StorePurge } from './purge-types.js';

/** The event time of the newest event a state holds or summarizes (raw events, base accumulators, tiles); -Infinity for none. */
export function newestEventOf(state: EntityState): number {
  let newest = state.ts.length > 0 ? state.ts[state.ts.length - 1]! : -Infinity;
  for (const base of state.base) if (base !== null && base.ts > newest) newest = base.ts;
  for (const slot of state.tiles?.slots ?? []) {
    if (slot !== null) for (const t of slot.newest) if (t > newest) newest = t;
  }
  return newest;
}

/**
 * Removes what `match` selects from the online tables of the views that read `sources` (a
 * source and the transforms derived from it): the entity's keys from its views (`keys`), or
 * every entity whose newest event is before the cutoff (`before`). Then every other served view
 * of those sources whose lake rows changed is materialized again from the purged lake, so no
 * online value still reflects a removed row (a view of another entity may have counted, or kept
 * as a `last` value, what was removed) and online answers as the offline path does. Each view is
 * changed under its `materialize:<view>` lease, so no materialize writes it at the same time.
 */
export async function purgeOnline(ctx: SluiceContext, project: Project, sources: ReadonlySet<string>, match: PurgeMatch, changed: ReadonlySet<string>, dryRun: boolean): Promise<StorePurge[]> {
  const online = await ctx.online();
  const reports: StorePurge[] = [];
  const rebuild: FeatureView[] = [];
  for (const view of project.featureViews.filter((v) => sources.has(v.source))) {
    if ((await online.viewInfo(view.name)) === undefined) continue;
    const direct = match.kind === 'before' || view.entity === match.entity;
    let rows = 0;
    if (direct) {
      const select = match.kind === 'keys'
        ? { keys: match.keys }
        : { where: (_key: string, state: EntityState) => newestEventOf(state) < match.before };
      rows = await online.remove(view.name, select, { dryRun });
    }
    if (changed.has(view.source) && (match.kind === 'before' || !direct)) rebuild.push(view);
    reports.push({ store: `online:${view.name}`, rows, bytes: 0, filesRewritten: [] });
  }
  if (!dryRun && rebuild.length > 0) await materialize(ctx, project, { views: rebuild.map((v) => v.name), viewLeasesHeld: true });
  return reports;
}
