import { compileExpression, derivedSql, filterSql, type ExprType } from './expression/index.js';
import { COLUMN_TYPES, type DerivedColumn, type FeatureViewSpec, type Project, type ProjectSpec, type ScalarType, type Schema, type Source } from './types.js';
import { aColumnType, isListType } from './column-types.js';
import { checkName, checkNotReserved, checkRecord, fail, noCollisions } from './validate-names.js';

/** The expression types a column of each declared type accepts (null fits every one). */
const ACCEPTS: Readonly<Record<ScalarType, readonly ExprType[]>> = {
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
  const row = scalarRow(source.schema);
  let filterReads: readonly string[] = [];
  let filter: string | undefined;
  if (spec.filter !== undefined) {
    if (source.kind === 'cdc') fail(`${where}: a CDC source is a versioned table, so its views cannot filter rows (a filtered-out update would leave an older version in place); derive a column instead`);
    const typed = compileExpression(`${where}: filter`, spec.filter, row);
    if (typed.type !== 'bool' && typed.type !== 'null') fail(`${where}: filter "${spec.filter}" must be a boolean expression, but it gives ${aColumnType(typed.type)}`);
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
    if (!COLUMN_TYPES.includes(column?.type as ScalarType)) fail(`${at}: type must be one of ${COLUMN_TYPES.join(', ')}, not ${JSON.stringify(column?.type)}`);
    const typed = compileExpression(`${at}: sql`, column.sql, row);
    if (!ACCEPTS[column.type as ScalarType].includes(typed.type)) {
      fail(`${at}: sql "${column.sql}" gives ${aColumnType(typed.type)}, but the column is declared ${column.type}; change the type or CAST the value`);
    }
    derivedReads[name] = typed.reads;
    derived[name] = { type: column.type, sql: derivedSql(typed, column.type as ScalarType) };
  }
  const schema = { ...source.schema, ...Object.fromEntries(names.map((n) => [n, derived[n]!.type])) };
  return { ...(filter === undefined ? {} : { filter }), derived, schema, filterReads, derivedReads };
}

/** A call in a row expression whose literal arguments DuckDB parses (see `TypedExpression.probes`): where it is, and the SQL to try. */
export interface ExpressionProbe {
  readonly where: string;
  readonly text: string;
  readonly at: number;
  readonly sql: string;
}

/**
 * The probes of every row expression of a project's views (`spec` compiled as `project`): `plan`,
 * `apply` and every command that loads `sluice.config.ts` run them in DuckDB, so an invalid regex,
 * date part or format is a definition error at its position, not NULLs or failed batches later.
 */
export function rowTransformProbes(spec: ProjectSpec, project: Project): ExpressionProbe[] {
  const probes: ExpressionProbe[] = [];
  for (const view of spec.featureViews) {
    const source = project.sources.find((s) => s.name === view.source?.name);
    if (source === undefined) continue;
    const add = (where: string, text: string) => {
      for (const probe of compileExpression(where, text, scalarRow(source.schema)).probes) probes.push({ where, text, ...probe });
    };
    if (view.filter !== undefined) add(`feature view "${view.name}": filter`, view.filter);
    for (const [name, column] of Object.entries(view.columns ?? {})) add(`feature view "${view.name}", column "${name}": sql`, column.sql);
  }
  return probes;
}

/** The columns a row expression can read: the scalar ones (vectors and lists are read by features, not by expressions). */
function scalarRow(schema: Schema): Record<string, ScalarType> {
  return Object.fromEntries(Object.entries(schema).filter(([, type]) => !isListType(type))) as Record<string, ScalarType>;
}
