import type { Project } from '../definitions/index.js';
import type { SourceKey } from './validate-sql.js';

/**
 * The entity join keys of a source: every join key column of every feature view that reads it, once per
 * column. A row without one of them could never reach any of those views.
 *
 * @example
 * sourceKeys(project, 'transactions'); // [{ column: 'customer_id', entity: 'customer' }]
 */
export function sourceKeys(project: Project, source: string): SourceKey[] {
  const keys = new Map<string, SourceKey>();
  for (const view of project.featureViews) {
    if (view.source !== source) continue;
    for (const column of view.joinKeys) if (!keys.has(column)) keys.set(column, { column, entity: view.entity });
  }
  return [...keys.values()];
}
