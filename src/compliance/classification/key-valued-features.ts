import { featureColumn, transformOrder, type Project } from '../../definitions/index.js';
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
 * `lastN`, `min`, `max`, `field`) reading the entity's key column of a source, or a column computed
 * from it (DIRECTly: as it is, transformed or aggregated) in a SQL transform's table (through any
 * chain of transforms) or in a view's derived column; and every feature of a request view with
 * such an input feature (its code may return the value). A transform whose columns' lineage was not
 * parsed counts every output column as computed from every input column. An entity with a
 * composite key has none: one feature value holds one column, and one part alone does not name a
 * subject. Erasure removes served and dataset rows where such a feature's value is the key.
 *
 * @example
 * keyValuedFeatures(project, 'customer'); // [{ view: 'merchant_stats', feature: 'last_customer', column: 'merchant_stats__last_customer' }]
 */
export function keyValuedFeatures(project: Project, entity: string): KeyValuedFeature[] {
  const keys = project.entities.find((e) => e.name === entity)?.joinKeys ?? [];
  if (keys.length !== 1) return [];
  const key = keys[0]!.toLowerCase();
  // Per table, the lower-cased columns whose values may be the entity's keys.
  const carrying = new Map<string, Set<string>>();
  const carries = (table: string, column: string) => carrying.get(table)?.has(column.toLowerCase()) ?? false;
  for (const source of project.sources) {
    if (source.kind !== 'transform' && Object.keys(source.schema).some((c) => c.toLowerCase() === key)) carrying.set(source.name, new Set([key]));
  }
  for (const transform of transformOrder(project)) {
    const schema = project.sources.find((s) => s.name === transform.name)?.schema ?? {};
    const inputColumns = transform.inputs.flatMap((i) => [...(carrying.get(i) ?? [])].map((c) => `${i}.${c}`));
    if (inputColumns.length === 0) continue;
    const columns = Object.keys(schema).filter((column) => {
      const edges = transform.columnInputs?.[column];
      // No parsed lineage for the column: it may be computed from any input column.
      if (edges === undefined) return true;
      return edges.some((e) => e.type === 'DIRECT' && carries(e.input.slice(0, e.input.indexOf('.')), e.input.slice(e.input.indexOf('.') + 1)));
    });
    if (columns.length > 0) carrying.set(transform.name, new Set(columns.map((c) => c.toLowerCase())));
  }
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
