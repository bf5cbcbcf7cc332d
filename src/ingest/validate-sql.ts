import type { ColumnType, Project, Source } from '../definitions/index.js';
import { ident, literal } from '../storage/engine/sql-engine.js';
import { parseTimestampSql } from '../time/index.js';

/** The SQL type a schema type is stored as in the lake. */
export const STORAGE_TYPE: Record<ColumnType, string> = {
  string: 'VARCHAR',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

function parsed(column: string, type: ColumnType): string {
  const c = ident(column);
  switch (type) {
    case 'string':
      return c;
    case 'timestamp':
      return parseTimestampSql(c);
    case 'float64':
      return `(CASE WHEN isfinite(TRY_CAST(${c} AS DOUBLE)) THEN TRY_CAST(${c} AS DOUBLE) END)`;
    default:
      return `TRY_CAST(${c} AS ${STORAGE_TYPE[type]})`;
  }
}

/** The join key columns of a source's rows: per column, the entity (of a view over the source) it identifies. */
export function sourceJoinKeys(project: Project, source: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const view of project.featureViews) {
    if (view.source !== source) continue;
    for (const key of view.joinKeys) if (!keys.has(key)) keys.set(key, view.entity);
  }
  return keys;
}

/**
 * The reason a text row breaks the source schema, as one SQL expression: `''` when the row is
 * valid. Every column is checked set-based in DuckDB; the event timestamp must be present, and
 * so must every join key part (`joinKeys`, see {@link sourceJoinKeys}): a row with a null key
 * part identifies no entity.
 */
export function rejectReasonSql(source: Source, joinKeys: ReadonlyMap<string, string> = new Map()): string {
  const checks = Object.entries(source.schema).map(([column, type]) => {
    const c = ident(column);
    const bad = `'column "${column}": ' || to_json(${c}) || ' is not a ${type}'`;
    const invalid = type === 'string' ? 'NULL' : `CASE WHEN ${c} IS NOT NULL AND ${parsed(column, type)} IS NULL THEN ${bad} END`;
    const entity = joinKeys.get(column);
    const missing = column === source.timestamp ? 'the event timestamp is missing' : entity !== undefined ? `a join key of entity "${entity}" is missing` : undefined;
    return missing !== undefined ? `CASE WHEN ${c} IS NULL THEN ${literal(`column "${column}": ${missing}`)} ELSE ${invalid} END` : invalid;
  });
  return `concat_ws('; ', ${checks.join(', ')})`;
}

/**
 * The typed lake columns of a valid text row: the schema columns in their storage types, `_ts`
 * (the event time in epoch ms) and `_seq` (ingestion order, from `firstSeq`, in input order).
 */
export function typedColumnsSql(source: Source, firstSeq: number): string {
  const columns = Object.entries(source.schema).map(([column, type]) =>
    type === 'timestamp'
      ? `epoch_ms(${parsed(column, type)}) AS ${ident(column)}`
      : `${parsed(column, type)}::${STORAGE_TYPE[type]} AS ${ident(column)}`,
  );
  return [
    ...columns,
    `${parsed(source.timestamp, 'timestamp')} AS _ts`,
    `(${firstSeq} + row_number() OVER (ORDER BY _n) - 1)::BIGINT AS _seq`,
  ].join(', ');
}
