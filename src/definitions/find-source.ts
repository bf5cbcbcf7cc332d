import { NotFoundError } from '../errors.js';
import { didYouMean } from './suggest.js';
import type { Project, Source } from './types.js';

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
