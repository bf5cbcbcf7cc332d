import type { ScalarType, Schema, Source, Transform } from '../../definitions/index.js';
import { didYouMean } from '../../definitions/index.js';
import { DefinitionError } from '../../errors.js';
import { STORAGE_TYPE, storageType } from '../../ingest/validate-sql.js';
import { ident, type SqlEngine, readPathList } from '../../storage/engine/sql-engine.js';

/** The DuckDB result types a declared type accepts: the exact storage type, or one that converts to it without loss. */
const ACCEPTED: Record<ScalarType, readonly string[]> = {
  string: ['VARCHAR'],
  int64: ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'],
  float64: ['DOUBLE', 'FLOAT'],
  bool: ['BOOLEAN'],
  timestamp: ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE'],
};

/**
 * The relation of an input as a transform's SQL sees it: the input's schema columns (timestamps
 * as TIMESTAMP, in UTC), from the given lake files; a column added after some files were
 * written reads as NULL from them. Without files, an empty relation of the same types (what
 * `plan` describes a query over).
 */
export function inputRelationSql(source: Source, files: readonly string[]): string {
  const columns = Object.keys(source.schema).map(ident).join(', ');
  const typed = Object.entries(source.schema).map(([c, type]) => `NULL::${storageType(type)} AS ${ident(c)}`).join(', ');
  if (files.length === 0) return `SELECT ${typed} WHERE FALSE`;
  return `SELECT ${columns} FROM (SELECT * FROM read_parquet(${readPathList(files)}, union_by_name = true) UNION ALL BY NAME SELECT ${typed} WHERE FALSE)`;
}

/** The result columns of a query, as DuckDB binds it (without running it). */
export async function describeQuery(engine: SqlEngine, sql: string): Promise<Array<{ name: string; type: string }>> {
  const rows = await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE ${sql}`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/**
 * Compares a query's result columns with a transform's declared schema: every declared column
 * present with a type that converts to the declared one without loss, no other column. A
 * mismatch is a DefinitionError naming each column (missing, extra, wrong type) and the fix.
 *
 * @example
 * checkResultSchema(transform, await describeQuery(engine, sql));
 */
export function checkResultSchema(transform: { readonly name: string; readonly schema: Schema }, result: readonly { name: string; type: string }[]): void {
  const problems: string[] = [];
  const found = new Map(result.map((c) => [c.name, c.type]));
  for (const [column, type] of Object.entries(transform.schema)) {
    const actual = found.get(column);
    if (actual === undefined) problems.push(`column "${column}" is declared (${type}) but missing from the query's result${didYouMean(column, found.keys())}`);
    else if (!ACCEPTED[type as ScalarType].includes(actual)) {
      problems.push(`column "${column}" is ${actual} in the query's result but declared ${type}; cast it in the SQL (CAST(... AS ${STORAGE_TYPE[type as ScalarType]})) or declare its type`);
    }
  }
  for (const { name, type } of result) {
    if (!Object.hasOwn(transform.schema, name)) problems.push(`column "${name}" (${type}) is in the query's result but not declared; add it to the schema or leave it out of the SELECT`);
  }
  if (problems.length > 0) {
    throw new DefinitionError('DEFINITION_INVALID', `transform "${transform.name}": its query does not give the declared schema: ${problems.join('; ')}`, { details: { transform: transform.name, problems } });
  }
}

/** Creates a view per input of `transform`, named as the input, over its files (`files` absent: no files, an empty typed relation). */
export async function createInputViews(engine: SqlEngine, transform: Transform, sources: ReadonlyMap<string, Source>, files: ReadonlyMap<string, readonly string[]> = new Map()): Promise<void> {
  for (const input of transform.inputs) {
    await engine.run(`CREATE OR REPLACE TEMP VIEW ${ident(input)} AS ${inputRelationSql(sources.get(input)!, files.get(input) ?? [])}`);
  }
}
