import { featureColumn, isStreamed, type Feature, type FeatureView, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import type { FeatureSkew } from '../../storage/metadata/skew-store.js';
import type { LatestSnapshots } from '../../serving/latest-snapshots.js';
import type { ServedRow } from '../serving-log/served-row.js';
import { FeatureTally } from './feature-tally.js';
import { recomputeOffline } from './recompute-offline.js';

/**
 * Served statuses whose values are not compared. Every other status (`PRESENT`, `NULL`,
 * `OUTSIDE_TTL`, `NOT_FOUND`) is compared: its value is what the view's snapshots give (a count of
 * 0, a null, a ttl-expired null, an unknown entity's empty value).
 */
const SKIPPED_STATUS = new Set(['STALE', 'NOT_MATERIALIZED', 'ERROR']);

/** Served values of one view that reflected the same snapshot, recomputed together. */
interface Group {
  readonly view: FeatureView;
  /** The snapshot id the values reflected, null: the source had none. */
  readonly snapshot: string | null;
  readonly points: Map<string, number>;
  readonly keys: string[];
  readonly times: number[];
  /** Per served value: its row, its point and the feature's position in the view. */
  readonly values: { row: ServedRow; point: number; feature: number; column: string }[];
}

const snapshotLabel = (source: string, id: string | null) => `${source}=${id ?? '(empty)'}`;

/** The group and point of a served row's view, created on first use; null when the view's table was of another definition. */
function pointIn(groups: Map<string, Group>, row: ServedRow, view: FeatureView, asOf: number): { group: Group; point: number } | null {
  const served = row.views[view.name];
  if (served === undefined || served.definitionHash !== view.hash) return null;
  const snapshot = served.snapshots[view.source] ?? null;
  const id = `${view.name}\u0000${snapshot}`;
  let group = groups.get(id);
  if (!group) groups.set(id, (group = { view, snapshot, points: new Map(), keys: [], times: [], values: [] }));
  const pointId = `${row.entityKey}\u0000${asOf}`;
  let point = group.points.get(pointId);
  if (point === undefined) {
    group.points.set(pointId, (point = group.keys.length));
    group.keys.push(row.entityKey);
    group.times.push(asOf);
  }
  return { group, point };
}

/** When the snapshot after `snapshot` (the first one, for null) was committed; Infinity when none was. */
async function nextCommitAfter(ctx: SluiceContext, source: string, snapshot: string | null): Promise<number> {
  const version = snapshot === null ? 0 : ((await ctx.metadata.snapshot(snapshot))?.version ?? Infinity);
  const later = (await ctx.metadata.listSnapshots({ source, limit: 1_000_000 })).filter((s) => s.version > version);
  return later.length === 0 ? Infinity : Math.min(...later.map((s) => s.createdAt));
}

/**
 * Compares the served rows of one service with their offline recomputation, value by value, as
 * the server answers them (see `servedForm`), a batch of rows at a time (`add`), so memory stays
 * bounded whatever the size of the log. Within a batch, served values are grouped by view and by
 * the lake snapshot their view reflected, and each group is recomputed in one point-in-time build
 * over exactly that snapshot (for a stream or CDC source, whose online table also holds log
 * entries not yet in a snapshot, over the latest snapshot and only the events known before each
 * `asOf`). Values that cannot or must not be compared are counted by reason (`SkewSkipReason`).
 *
 * @example
 * const comparison = new ServedRowsComparison(ctx, project, 'fraud_v1', latest);
 * await comparison.add(rows);
 * comparison.result(); // one FeatureSkew per feature
 */
export class ServedRowsComparison {
  private readonly features = new Map<string, { view: FeatureView; feature: Feature; index: number }>();
  private readonly requestColumns: ReadonlySet<string>;
  // Per column, what it is and its tally: resolved once, not per served value.
  private readonly columns = new Map<string, { tally: FeatureTally; known?: { view: FeatureView; index: number }; request: boolean }>();
  private readonly nextCommits = new Map<string, number>();

  constructor(private readonly ctx: SluiceContext, private readonly project: Project, readonly service: string, private readonly latest: LatestSnapshots) {
    for (const view of project.featureViews) view.features.forEach((feature, index) => this.features.set(featureColumn({ view: view.name, feature: feature.name }), { view, feature, index }));
    this.requestColumns = new Set(project.requestViews.flatMap((v) => v.features.map((f) => featureColumn({ view: v.name, feature: f.name }))));
  }

  private columnOf(column: string) {
    let c = this.columns.get(column);
    if (!c) {
      const known = this.features.get(column);
      const tally = new FeatureTally(this.service, column, known?.feature.valueType);
      this.columns.set(column, (c = { tally, ...(known ? { known: { view: known.view, index: known.index } } : {}), request: this.requestColumns.has(column) }));
    }
    return c;
  }

  /** Compares a batch of served rows of this service. */
  async add(rows: readonly ServedRow[]): Promise<void> {
    const groups = new Map<string, Group>();
    for (const row of rows) {
      const asOf = Date.parse(row.asOf);
      // Per view of this row: its group and point, or null when its table's definition is not the registry's.
      const pointOf = new Map<string, { group: Group; point: number } | null>();
      for (const column in row.statuses) {
        const status = row.statuses[column]!;
        const { tally, known, request } = this.columnOf(column);
        if (SKIPPED_STATUS.has(status)) tally.skip(status as 'STALE');
        else if (request) tally.skip('REQUEST_VIEW');
        else if (!known) tally.skip('UNKNOWN_FEATURE');
        else {
          let at = pointOf.get(known.view.name);
          if (at === undefined) pointOf.set(known.view.name, (at = pointIn(groups, row, known.view, asOf)));
          if (at === null) tally.skip('DEFINITION_CHANGED');
          else at.group.values.push({ row, point: at.point, feature: known.index, column });
        }
      }
    }
    for (const group of groups.values()) await this.recompute(group);
  }

  private async recompute(group: Group): Promise<void> {
    const { ctx, latest } = this;
    const { view } = group;
    const source = this.project.sources.find((s) => s.name === view.source)!;
    // A streamed view's table also holds log entries committed to the lake only later: read the
    // latest snapshot, as known at each asOf (what the table had applied when it answered).
    const streamed = isStreamed(source);
    const readId = streamed ? (latest.get(source.name)?.id ?? null) : group.snapshot;
    const snapshot = readId === null ? undefined : await ctx.metadata.snapshot(readId);
    if (readId !== null && snapshot === undefined) {
      for (const v of group.values) this.columnOf(v.column).tally.skip('SNAPSHOT_UNAVAILABLE');
      return;
    }
    const used = [...new Set(group.values.map((v) => v.feature))].sort((a, b) => a - b);
    const position = new Map(used.map((feature, i) => [feature, i]));
    const offline = await recomputeOffline(await ctx.engine(), view, source, used.map((i) => view.features[i]!), (snapshot?.files ?? []).map((f) => ctx.lake.resolve(f)), group, streamed);
    const commitKey = `${source.name}\u0000${group.snapshot}`;
    let nextCommit = this.nextCommits.get(commitKey);
    if (nextCommit === undefined) this.nextCommits.set(commitKey, (nextCommit = await nextCommitAfter(ctx, source.name, group.snapshot)));
    const counts = new Map<string, { count: number; behind: number }>();
    for (const v of group.values) {
      this.columnOf(v.column).tally.compare(v.row, v.row.values[v.column] ?? null, offline[v.point]![position.get(v.feature)!]);
      let c = counts.get(v.column);
      if (!c) counts.set(v.column, (c = { count: 0, behind: 0 }));
      c.count++;
      if (v.row.servedAt >= nextCommit) c.behind++;
    }
    for (const [column, c] of counts) this.columnOf(column).tally.snapshots(snapshotLabel(source.name, group.snapshot), snapshotLabel(source.name, readId), c.count, c.behind);
  }

  /** One result per feature seen, by feature name. */
  result(): FeatureSkew[] {
    const latestOf = (view: FeatureView) => ({ [view.source]: this.latest.get(view.source)?.id ?? null });
    return [...this.columns.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c.tally.result(c.known ? latestOf(c.known.view) : {}));
  }
}
