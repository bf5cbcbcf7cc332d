import { transformOrder, type Project } from '../../definitions/index.js';

/** The columns of one table that may hold an entity's key (see {@link keyCarryingColumns}). */
export interface KeyCarryingColumns {
  /** Columns that hold the key as it is: the entity's join key column, or a column passed through from one (`customer_id AS payer`). */
  readonly exact: readonly string[];
  /**
   * Columns computed from a key column (a function, a cast, an aggregate, a CASE result), or of a
   * transform whose lineage was not parsed: a value may be the key, or the key in another form
   * (`upper(customer_id)`) that no match by value can find.
   */
  readonly unsure: readonly string[];
}

const lower = (s: string) => s.toLowerCase();

/**
 * Per table (source or transform), the columns whose values may be keys of `entity`, by column
 * lineage through any chain of SQL transforms: a table's own join key column(s) by name, and
 * (for an entity with one join key) each transform column with a DIRECT edge from a carrying
 * column: `exact` when every such edge passes an exact column through as it is (IDENTITY), else
 * `unsure`. A transform whose lineage was not parsed counts every column reading a carrying
 * table as `unsure`. Tables holding none are absent. Columns keep their declared spelling
 * (compared case-insensitively, as DuckDB does). An entity with a composite key is followed
 * only by name: one column holds one part, which alone does not name a subject.
 *
 * @example
 * keyCarryingColumns(project, 'customer').get('payers'); // { exact: ['payer'], unsure: [] } for `SELECT customer_id AS payer ...`
 */
export function keyCarryingColumns(project: Project, entity: string): Map<string, KeyCarryingColumns> {
  const keys = (project.entities.find((e) => e.name === entity)?.joinKeys ?? []).map(lower);
  const found = new Map<string, { exact: string[]; unsure: string[] }>();
  for (const source of project.sources) {
    const names = Object.keys(source.schema);
    if (keys.length > 0 && keys.every((k) => names.some((c) => lower(c) === k))) found.set(source.name, { exact: names.filter((c) => keys.includes(lower(c))), unsure: [] });
  }
  if (keys.length !== 1) return found;
  const kind = (table: string, column: string): 'exact' | 'unsure' | undefined => {
    const carried = found.get(table);
    if (carried?.exact.some((c) => lower(c) === lower(column))) return 'exact';
    return carried?.unsure.some((c) => lower(c) === lower(column)) ? 'unsure' : undefined;
  };
  for (const transform of transformOrder(project)) {
    if (!transform.inputs.some((i) => found.has(i))) continue;
    const own = found.get(transform.name) ?? { exact: [], unsure: [] };
    for (const column of Object.keys(transform.schema)) {
      if (own.exact.includes(column)) continue;
      const edges = transform.columnInputs?.[column];
      let carried: 'exact' | 'unsure' | undefined;
      if (edges === undefined) carried = 'unsure';
      for (const edge of edges ?? []) {
        const dot = edge.input.indexOf('.');
        const from = edge.type === 'DIRECT' ? kind(edge.input.slice(0, dot), edge.input.slice(dot + 1)) : undefined;
        if (from === undefined) continue;
        carried = from === 'exact' && edge.subtype === 'IDENTITY' && carried !== 'unsure' ? 'exact' : 'unsure';
      }
      if (carried !== undefined) own[carried].push(column);
    }
    if (own.exact.length + own.unsure.length > 0) found.set(transform.name, own);
  }
  return found;
}
