import type pg from 'pg';
import { ValidationError } from '../../../errors.js';
import { didYouMean } from '../../../definitions/index.js';
import type { RecordBatch } from '../../read-records.js';
import { pgIdent } from '../postgres/postgres-connection.js';
import type { PostgresTableConfig, TableMark } from './postgres-table-config.js';

/**
 * The Postgres column each source column reads: the same name, or the one column whose name
 * differs only in case (Postgres folds unquoted names to lower case, Sluice compares names
 * case-insensitively). A source column the rows lack is an error that names it: never a silent null.
 */
export async function matchColumns(client: pg.Client, config: PostgresTableConfig): Promise<ReadonlyMap<string, string>> {
  const { fields } = await client.query(`SELECT * FROM ${config.relation} AS t LIMIT 0`);
  const names = fields.map((f) => f.name);
  const matched = new Map<string, string>();
  const missing: string[] = [];
  for (const column of config.columns) {
    const folded = names.filter((n) => n.toLowerCase() === column.toLowerCase());
    const name = names.includes(column) ? column : folded.length === 1 ? folded[0] : undefined;
    if (name === undefined) missing.push(column);
    else matched.set(column, name);
  }
  if (missing.length > 0) {
    const first = missing[0]!;
    const fix = config.origin === 'postgres:query' ? `name it in the query (SELECT ... AS ${first})` : 'rename it in the source schema';
    throw new ValidationError('VALIDATION_FAILED', `source "${config.source}": ${config.origin} has no column ${missing.map((m) => `"${m}"`).join(', ')}${didYouMean(first, names)}; its columns are ${names.join(', ')}. Add it upstream, or ${fix}`, { details: { missingColumns: missing } });
  }
  return matched;
}

/**
 * The page query: the rows after `mark` in `(cursor, key)` order, each as one JSON object named
 * by the source's columns, with its cursor and key as Postgres prints them. The comparison is
 * Postgres's own row comparison, in the same order as the `ORDER BY`, so a page boundary never
 * splits rows with equal cursor values in a way the next page misses.
 */
export function pageSql(config: PostgresTableConfig, columns: ReadonlyMap<string, string>, after: boolean): string {
  const cursor = `t.${pgIdent(columns.get(config.cursor)!)}`;
  const key = `t.${pgIdent(columns.get(config.key)!)}`;
  const object = [...columns].map(([column, name]) => `t.${pgIdent(name)} AS ${pgIdent(column)}`).join(', ');
  // Rows whose cursor or key is NULL have no place in the order: they are counted apart (see nullMarkSql).
  const where = `${cursor} IS NOT NULL AND ${key} IS NOT NULL${after ? ` AND (${cursor}, ${key}) > ($2, $3)` : ''}`;
  return `SELECT (SELECT to_json(r) FROM (SELECT ${object}) AS r)::text AS "row", ${cursor}::text AS "cursor", ${key}::text AS "key"
    FROM ${config.relation} AS t WHERE ${where} ORDER BY ${cursor}, ${key} LIMIT $1`;
}

/** How many rows have a NULL cursor or key (never read): reported, so they do not vanish unseen. */
export function nullMarkSql(config: PostgresTableConfig, columns: ReadonlyMap<string, string>): string {
  const cursor = `t.${pgIdent(columns.get(config.cursor)!)}`;
  const key = `t.${pgIdent(columns.get(config.key)!)}`;
  return `SELECT count(*)::int AS n FROM ${config.relation} AS t WHERE ${cursor} IS NULL OR ${key} IS NULL`;
}

/** What a read found: the last row's mark (undefined: no rows after the mark) and how many rows. */
export interface ReadProgress {
  mark: TableMark | undefined;
  rows: number;
}

/**
 * Reads the rows after `mark` page by page (`LIMIT pageSize`, keyset pagination on
 * `(cursor, key)`), as record batches for `loadRawJson`. Run it inside one REPEATABLE READ
 * transaction so every page reads the same snapshot. `progress` holds the last mark read.
 */
export async function* readTablePages(client: pg.Client, config: PostgresTableConfig, columns: ReadonlyMap<string, string>, mark: TableMark | undefined, progress: ReadProgress): AsyncGenerator<RecordBatch> {
  let after = mark;
  for (;;) {
    const params = after === undefined ? [config.pageSize] : [config.pageSize, after.cursor, after.key];
    const { rows } = await client.query<{ row: string; cursor: string; key: string }>(pageSql(config, columns, after !== undefined), params);
    if (rows.length === 0) return;
    const first = progress.rows + 1;
    progress.rows += rows.length;
    const last = rows[rows.length - 1]!;
    after = { cursor: last.cursor, key: last.key };
    progress.mark = after;
    yield { lines: rows.map((_, i) => first + i), raws: rows.map((r) => r.row), problems: rows.map(() => null), fields: rows.map(() => null) };
    if (rows.length < config.pageSize) return;
  }
}
