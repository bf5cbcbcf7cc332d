import { NotFoundError } from '../errors.js';
import { didYouMean } from './suggest.js';
import type { FeatureView, Project, Source } from './types.js';

/**
 * The applied project's source (or transform table) of this name, else a NotFoundError naming
 * it, the closest name, and the fix.
 *
 * @example
 * const source = findSource(project, 'transactions');
 */
export function findSource(project: Project, name: string): Source {
  const source = project.sources.find((s) => s.name === name);
  if (source === undefined) {
    throw new NotFoundError('UNKNOWN_SOURCE', `source "${name}" is not in the registry${didYouMean(name, project.sources.map((s) => s.name))}; run "sluice apply" after adding it`);
  }
  return source;
}

/**
 * The applied project's feature view of this name, else a NotFoundError naming it, the closest
 * name, and the fix.
 *
 * @example
 * const view = findView(project, 'txn_stats');
 */
export function findView(project: Project, name: string): FeatureView {
  const view = project.featureViews.find((v) => v.name === name);
  if (view === undefined) {
    throw new NotFoundError('NOT_FOUND', `feature view "${name}" is not in the registry${didYouMean(name, project.featureViews.map((v) => v.name))}; run "sluice apply" after adding it`);
  }
  return view;
}
