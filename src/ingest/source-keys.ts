import type { Project } from '../definitions/index.js';
import type { CompositeKey, SourceKey } from './validate-sql.js';

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

/**
 * The entities with several key columns among the views that read a source: each row's encoded
 * key must fit the online store as a whole, not only part by part.
 *
 * @example
 * sourceCompositeKeys(project, 'payments'); // [{ entity: 'user_merchant', columns: ['user_id', 'merchant_id'] }]
 */
export function sourceCompositeKeys(project: Project, source: string): CompositeKey[] {
  const keys = new Map<string, CompositeKey>();
  for (const view of project.featureViews) {
    if (view.source === source && view.joinKeys.length > 1) keys.set(view.entity, { entity: view.entity, columns: view.joinKeys });
  }
  return [...keys.values()];
}
