import { compileExpression, derivedSql, filterSql, type ExprType } from './expression/index.js';
import { COLUMN_TYPES, type ColumnType, type DerivedColumn, type FeatureViewSpec, type Schema, type Source } from './types.js';
import { checkName, checkNotReserved, checkRecord, fail, noCollisions } from './validate-names.js';

/** The expression types a column of each declared type accepts (null fits every one). */
const ACCEPTS: Readonly<Record<ColumnType, readonly ExprType[]>> = {
  float64: ['float64', 'int64', 'null'],
  int64: ['int64', 'null'],
  string: ['string', 'null'],
  bool: ['bool', 'null'],
  timestamp: ['timestamp', 'date', 'null'],
};

/** A view's row transforms, compiled: the filter and derived columns, the row schema features read, and the source columns the expressions read. */
export interface RowTransforms {
  readonly filter?: string;
  readonly derived?: Readonly<Record<string, DerivedColumn>>;
  /** The source's schema plus the derived columns. */
  readonly schema: Schema;
  /** The source columns the filter reads, and those each derived column's expression reads. */
  readonly filterReads: readonly string[];
  readonly derivedReads: Readonly<Record<string, readonly string[]>>;
}

/**
 * The source columns whose type changes a view's values: those its filter reads and those the
 * derived columns its features read do (a derived column no feature reads changes nothing).
 */
export function valueReads(row: RowTransforms, featureColumns: readonly string[]): string[] {
  return [...new Set([...row.filterReads, ...featureColumns.flatMap((c) => row.derivedReads[c] ?? [])])];
}

/**
 * Compiles a view's `filter` and derived `columns` against its source's row (see
 * `docs/row-transforms.md` for the expression language). Derived columns read source columns (not
 * each other); their names follow the rules of source column names and may not repeat one.
 */
export function compileRowTransforms(spec: FeatureViewSpec, source: Source): RowTransforms {
  const where = `feature view "${spec.name}"`;
  let filterReads: readonly string[] = [];
  let filter: string | undefined;
  if (spec.filter !== undefined) {
    if (source.kind === 'cdc') fail(`${where}: a CDC source is a versioned table, so its views cannot filter rows (a filtered-out update would leave an older version in place); derive a column instead`);
    const typed = compileExpression(`${where}: filter`, spec.filter, source.schema);
    if (typed.type !== 'bool' && typed.type !== 'null') fail(`${where}: filter "${spec.filter}" must be a boolean expression, but it gives a ${typed.type}`);
    filterReads = typed.reads;
    filter = filterSql(typed);
  }
  if (spec.columns === undefined) return { ...(filter === undefined ? {} : { filter }), schema: source.schema, filterReads, derivedReads: {} };
  checkRecord(spec.columns, `${where}: columns must be an object of column name to { type, sql }, e.g. { amount_usd: { type: 'float64', sql: 'amount * fx_rate' } }`);
  const names = Object.keys(spec.columns);
  for (const name of names) {
    const same = Object.keys(source.schema).find((c) => c.toLowerCase() === name.toLowerCase());
    if (same !== undefined) fail(`${where}: derived column "${name}" has the name of source "${source.name}"'s column "${same}" (names are compared case-insensitively); give it another name`);
  }
  noCollisions('derived columns', names, `${where}: `);
  const derived: Record<string, DerivedColumn> = {};
  const derivedReads: Record<string, readonly string[]> = {};
  for (const name of names) {
    checkName(`${where}: derived column`, name);
    checkNotReserved(`${where}: derived column`, name);
    const column = spec.columns[name]!;
    const at = `${where}, column "${name}"`;
    if (!COLUMN_TYPES.includes(column?.type)) fail(`${at}: type must be one of ${COLUMN_TYPES.join(', ')}, not ${JSON.stringify(column?.type)}`);
    const typed = compileExpression(`${at}: sql`, column.sql, source.schema);
    if (!ACCEPTS[column.type].includes(typed.type)) {
      fail(`${at}: sql "${column.sql}" gives a ${typed.type}, but the column is declared ${column.type}; change the type or CAST the value`);
    }
    derivedReads[name] = typed.reads;
    derived[name] = { type: column.type, sql: derivedSql(typed, column.type) };
  }
  const schema = { ...source.schema, ...Object.fromEntries(names.map((n) => [n, derived[n]!.type])) };
  return { ...(filter === undefined ? {} : { filter }), derived, schema, filterReads, derivedReads };
}
