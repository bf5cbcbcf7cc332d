import type { FeatureView } from '../definitions/index.js';

/**
 * The names of a feature view's blocking (`error`) checks. They judge the rows `materialize`
 * writes (`checkViewRows`), so a view that has any is changed online only by a materialize that
 * passed them: an ingest, a quarantine release or a transform run does not apply its rows to the
 * view's table (`applySnapshotOnline` skips it, naming them), which keeps serving its previous
 * values, marked STALE, until a materialize passes the checks. Empty when nothing gates it.
 *
 * @example
 * const gate = viewBlockingChecks(view); // ['n_small']: only materialize replaces its table
 */
export function viewBlockingChecks(view: Pick<FeatureView, 'checks'>): readonly string[] {
  return (view.checks ?? []).filter((c) => c.severity === 'error').map((c) => c.name);
}
