import { featureColumn, type Project } from '../../definitions/index.js';
import { keyCarryingColumns } from './key-carrying-columns.js';
import { aggregationOf } from '../../processing/aggregations/index.js';
import { derivedReads } from './catalog.js';

/** A feature whose served value may be a key of an entity, or a list holding one (see {@link keyValuedFeatures}). */
export interface KeyValuedFeature {
  readonly view: string;
  readonly feature: string;
  /** Its column as served, logged and written to datasets: `<view>__<feature>`. */
  readonly column: string;
}

/**
 * The features whose value may be a key of `entity` (or a list of values holding one), by column
 * lineage: a feature that serves its column's values (`Aggregation.servesInputValues`: `last`,
 * `lastN`, `min`, `max`, `field`) reading a column that may hold the key ({@link keyCarryingColumns}:
 * the key column, or a column computed from it in a SQL transform's table, exact or unsure) or a
 * view's derived column reading one; and every feature of a request view with
 * such an input feature (its code may return the value). An entity with a
 * composite key has none: one feature value holds one column, and one part alone does not name a
 * subject. Erasure removes served and dataset rows where such a feature's value is the key.
 *
 * @example
 * keyValuedFeatures(project, 'customer'); // [{ view: 'merchant_stats', feature: 'last_customer', column: 'merchant_stats__last_customer' }]
 */
export function keyValuedFeatures(project: Project, entity: string): KeyValuedFeature[] {
  const keys = project.entities.find((e) => e.name === entity)?.joinKeys ?? [];
  if (keys.length !== 1) return [];
  // Per table, the lower-cased columns whose values may be the entity's keys (as they are or computed).
  const carrying = new Map([...keyCarryingColumns(project, entity)].map(([table, c]) => [table, new Set([...c.exact, ...c.unsure].map((x) => x.toLowerCase()))]));
  const carries = (table: string, column: string) => carrying.get(table)?.has(column.toLowerCase()) ?? false;
  const found: KeyValuedFeature[] = [];
  for (const view of project.featureViews) {
    for (const feature of view.features) {
      if (feature.column === undefined || !aggregationOf(feature).servesInputValues) continue;
      const derived = view.derived?.[feature.column];
      const reads = derived === undefined ? [feature.column] : derivedReads(derived.sql);
      if (reads.some((c) => carries(view.source, c))) found.push({ view: view.name, feature: feature.name, column: featureColumn({ view: view.name, feature: feature.name }) });
    }
  }
  const views = new Set(found.map((f) => f.view));
  for (const request of project.requestViews) {
    if (!request.inputs.some((v) => views.has(v))) continue;
    for (const feature of request.features) found.push({ view: request.name, feature: feature.name, column: featureColumn({ view: request.name, feature: feature.name }) });
  }
  return found;
}

/**
 * Whether a served value is `key` (in its entity key text form) or a list holding it: a string as
 * it is, a number or an int64 (served as a decimal string) by its decimal text.
 *
 * @example
 * valueCarriesKey(['c2', 'c1'], 'c1'); // true
 */
export function valueCarriesKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((v) => valueCarriesKey(v, key));
  return (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') && String(value) === key;
}
