import { featureSignature, type FeatureView, type ViewSelection } from '../definitions/index.js';
import { planEvaluation, type EvaluationPlan } from '../processing/evaluate-online.js';
import type { ViewTableInfo } from '../storage/online/online-store.js';
import { toIso } from '../time/index.js';
import { freshnessVerdict } from '../observability/freshness-verdict.js';
import type { LatestSnapshots } from './latest-snapshots.js';

/** What one view's answer reflects, reported once per view in each response. */
export interface ServedView {
  /**
   * `FRESH`: built from the latest committed snapshot of every source the view reads (as last
   * seen by the server); `STALE`: newer data was committed since; `NOT_MATERIALIZED`: no table.
   */
  readonly status: 'FRESH' | 'STALE' | 'NOT_MATERIALIZED';
  /** Why a view is STALE: newer data was committed than its table holds, or it is past its freshness SLA. */
  readonly reason?: string;
  /** The definition hash of the table that answered; null when none. */
  readonly viewHash: string | null;
  /** True when that table was built for an earlier definition than the registry's (blue/green). */
  readonly previousDefinition: boolean;
  /** ISO-8601 UTC: when the table was materialized (the time its states answer from). */
  readonly materializedAt: string | null;
  /** Per source, the snapshot id the table was built from (null: the source had no data). */
  readonly snapshots: Readonly<Record<string, string | null>>;
}

/** How to answer a view's requested features from the table that serves it. */
export interface TableEvaluation {
  /** Evaluation over the table's own definition. */
  readonly plan: EvaluationPlan;
  /** Output positions of `plan.features`. */
  readonly positions: readonly number[];
  /** Output positions of requested features the table's definition lacks (`NOT_MATERIALIZED`). */
  readonly missing: readonly number[];
}

/**
 * Matches the requested features (registry definition) to a table built for `table`: a feature is
 * answered when the table has a feature of the same name and value signature, so an unchanged
 * feature keeps serving while its changed view is rematerialized; any other is missing.
 *
 * @example
 * const { plan, positions, missing } = tableEvaluation(selection, [0, 1], info.definition);
 */
export function tableEvaluation(selection: ViewSelection, positions: readonly number[], table: FeatureView): TableEvaluation {
  const features: FeatureView['features'][number][] = [];
  const answered: number[] = [];
  const missing: number[] = [];
  // A table written before views recorded their column types (an older layout) answers nothing.
  const readable = table.columnTypes !== undefined;
  selection.features.forEach((feature, i) => {
    const signature = featureSignature(selection.view, feature);
    const own = readable && table.features.find((f) => f.name === feature.name && featureSignature(table, f) === signature);
    if (own) {
      features.push(own);
      answered.push(positions[i]!);
    } else missing.push(positions[i]!);
  });
  return { plan: planEvaluation(table, features), positions: answered, missing };
}

/**
 * What a view's answer reflects: STALE when a source the table read has a newer committed
 * snapshot than the one it holds (a snapshot of log entries the table already holds is not newer).
 *
 * @example
 * servedView(info, view.hash, latest).status; // 'FRESH' | 'STALE' | 'NOT_MATERIALIZED'
 */
export function servedView(info: ViewTableInfo | undefined, registryHash: string, latest: LatestSnapshots, sla?: { readonly freshnessMs: number; readonly now: number }): ServedView {
  if (info === undefined) return { status: 'NOT_MATERIALIZED', viewHash: null, previousDefinition: false, materializedAt: null, snapshots: {} };
  // Requests see the same table info and snapshot map over and over: work it out once for them.
  let cached = answered.get(info);
  if (cached === undefined || cached.latest !== latest || cached.registryHash !== registryHash) {
    cached = { latest, registryHash, served: describeTable(info, registryHash, latest), dataAt: tableDataTime(info, latest) };
    answered.set(info, cached);
  }
  if (sla === undefined || cached.served.status !== 'FRESH') return cached.served;
  // The common case without an allocation: within the SLA.
  if (cached.dataAt !== null && sla.now - cached.dataAt <= sla.freshnessMs) return cached.served;
  const verdict = freshnessVerdict(sla.freshnessMs, cached.dataAt, sla.now);
  return verdict.stale ? { ...cached.served, status: 'STALE', reason: verdict.reason } : cached.served;
}

const answered = new WeakMap<ViewTableInfo, { latest: LatestSnapshots; registryHash: string; served: ServedView; dataAt: number | null }>();

/**
 * When a view's online table last reflected new data (UTC epoch ms; null: it holds none): the
 * commit time of the snapshots it holds and the acknowledgement time of the newest streamed
 * events applied to it. The commit times of the latest snapshots come from `latest`; those of
 * older snapshots a table holds (a STALE table) from `committedAt` (by snapshot id) when given:
 * serving leaves them out (such a table is STALE anyway), `sluice status` reads them.
 *
 * @example
 * tableDataTime(info, latest); // 1704067200000
 */
export function tableDataTime(info: ViewTableInfo, latest: LatestSnapshots, committedAt?: ReadonlyMap<string, number>): number | null {
  let at = info.updatedAt ?? null;
  for (const [source, built] of Object.entries(info.snapshots)) {
    if (built === null) continue;
    const now = latest.get(source);
    const created = now !== undefined && now.id === built.id ? now.createdAt : committedAt?.get(built.id);
    if (created !== undefined) at = Math.max(at ?? created, created);
  }
  return at;
}

function describeTable(info: ViewTableInfo, registryHash: string, latest: LatestSnapshots): ServedView {
  const behind: string[] = [];
  const snapshots: Record<string, string | null> = {};
  for (const [source, built] of Object.entries(info.snapshots)) {
    snapshots[source] = built?.id ?? null;
    const now = latest.get(source);
    // The next snapshot, committed from log entries the table already holds, is not newer data:
    // the table is marked as reflecting it just after the commit (see `markHeldSnapshot`).
    const holds = now?.logOffset !== undefined && now.version === (built?.version ?? 0) + 1 && (info.applied?.[source] ?? 0) >= now.logOffset;
    if (now !== undefined && (built === null || now.version > built.version) && !holds) behind.push(`source "${source}" is at snapshot version ${now.version}, the table reflects version ${built?.version ?? 0}`);
  }
  const stale = behind.length > 0;
  return { status: stale ? 'STALE' : 'FRESH', ...(stale ? { reason: `newer data was committed since the table was built (${behind.join('; ')})` } : {}), viewHash: info.viewHash, previousDefinition: info.viewHash !== registryHash, materializedAt: toIso(info.materializedAt), snapshots };
}

/**
 * A line for a person when a view's values are not simply current, with the fix; undefined when they are.
 *
 * @example
 * servedViewNote('txn_stats', response.views.txn_stats); // 'view "txn_stats" is STALE: ...'
 */
export function servedViewNote(view: string, served: ServedView): string | undefined {
  const pastSla = served.reason?.startsWith('past its freshness SLA') === true;
  const fix = pastSla ? `ingest or push newer data to its source (then run "sluice materialize --views ${view}" if it is not applied online)` : `run "sluice materialize --views ${view}"`;
  if (served.status === 'NOT_MATERIALIZED') return `view "${view}" is not materialized: its values are null (NOT_MATERIALIZED); ${fix}`;
  const built = Object.entries(served.snapshots).map(([source, id]) => `${source} ${id ?? '(empty)'}`).join(', ');
  const notes: string[] = [];
  if (served.status === 'STALE') notes.push(`view "${view}" is STALE: built at ${served.materializedAt} from ${built}; ${served.reason ?? 'newer data was committed since'}; ${fix}`);
  if (served.previousDefinition) notes.push(`view "${view}" is served by the table of its previous definition: features added or changed since are null (NOT_MATERIALIZED); ${fix}`);
  return notes.length > 0 ? notes.join('\n') : undefined;
}
