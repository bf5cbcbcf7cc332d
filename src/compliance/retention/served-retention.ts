import type { Project } from '../../definitions/index.js';
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

/**
 * The cutoff before which retention removes what a serving-log directory holds that does not read
 * (a torn line, a row this build cannot read): such text does not say which views it answered,
 * so the bound is the earliest cutoff of the views the directory may hold (a service of the
 * project: its views; any other directory, `_features` or a removed service: every view of the
 * project). Undefined when one of them has no retention (the text may be that view's, kept).
 * A file goes by the end of its hour (`servingLogFileEnd`): every row in it was served before.
 *
 * @example
 * const cutoff = unreadableCutoff(project, cutoffs, 'fraud_v1');
 */
export function unreadableCutoff(project: Project, cutoffs: ViewCutoffs, dir: string): number | undefined {
  const service = project.featureServices.find((s) => s.name === dir);
  const views = service === undefined ? project.featureViews.map((v) => v.name) : [...new Set(service.features.map((f) => f.view))];
  const of = views.map((view) => cutoffs.get(view));
  return of.length === 0 || of.includes(undefined) ? undefined : Math.min(...(of as number[]));
}
