import type { DropRecord } from '../../observability/serving-log/index.js';

/** Per feature view under retention, in the project's order, its cutoff (epoch ms): its served history before it goes. */
export type ViewCutoffs = ReadonlyMap<string, number>;

/**
 * The one rule for the serving log's history under retention: a row served at `servedAt` that
 * answered the views `answered` selects is removed once any of those views' cutoffs passes it,
 * by the first such view in the project's order (the one its removal is counted under).
 * Undefined: no view's retention removes it.
 *
 * @example
 * const by = removingView(cutoffs, row.servedAt, (view) => view in row.views);
 */
export function removingView(cutoffs: ViewCutoffs, servedAt: number, answered: (view: string) => boolean): string | undefined {
  for (const [view, cutoff] of cutoffs) if (servedAt < cutoff && answered(view)) return view;
  return undefined;
}

/**
 * Whether retention at `cutoffs` has removed every row a drop record stands for, by the same
 * rule as the rows (`removingView`): the rows of each list of its views, up to its `to`.
 * A record without views (written before 2026-11-30 (15)) goes by `legacyCutoff`, as before
 * (its `to` before it); none: it stays.
 *
 * @example
 * await trimDropRecords(dataDir, 'fraud_v1', (record) => dropRecordGone(cutoffs, record, legacy), false);
 */
export function dropRecordGone(cutoffs: ViewCutoffs, record: DropRecord, legacyCutoff: number | undefined): boolean {
  if (record.views === undefined) return legacyCutoff !== undefined && record.to < legacyCutoff;
  return record.views.every((list) => removingView(cutoffs, record.to, (view) => list.includes(view)) !== undefined);
}

/**
 * The cutoff by which a removed record went, for the report: per list of its views, the latest
 * cutoff among them (its rows before that are gone); the earliest over its lists.
 */
export function dropRecordCutoff(cutoffs: ViewCutoffs, record: DropRecord, legacyCutoff: number | undefined): number {
  if (record.views === undefined) return legacyCutoff!;
  return Math.min(...record.views.map((list) => Math.max(...list.map((view) => cutoffs.get(view) ?? Number.NEGATIVE_INFINITY))));
}
