import type pg from 'pg';
import { didYouMean } from '../../../definitions/index.js';
import { ConfigError } from '../../../errors.js';
import type { PostgresCdcConfig } from './postgres-cdc-config.js';
import { pgIdent } from './postgres-connection.js';

/** What the connector needs to know about the followed table. */
export interface TableShape {
  /** `"schema"."table"`, quoted for SQL. */
  readonly sql: string;
  /** The key column's SQL type (`integer`, `character varying(20)`), to compare keys as Postgres orders them. */
  readonly keyType: string;
  /** `COLLATE "schema"."name"` of the key column, or `''` for a type without collation. */
  readonly keyCollate: string;
}

/**
 * Checks that the server and the table can be followed, and creates the publication if it is
 * missing: `wal_level = logical`; the table exists and has every column of the source; the key
 * column alone is unique and is in the table's replica identity (so a delete carries it); the
 * publication publishes inserts, updates and deletes of the table. Each problem is a
 * `ConfigError` that names it and the fix.
 */
export async function inspectTable(client: pg.Client, config: PostgresCdcConfig): Promise<TableShape> {
  const where = `source "${config.source}"`;
  const table = `${config.schemaName}.${config.tableName}`;
  const fail = (message: string): never => {
    throw new ConfigError('CONFIG_INVALID', `${where}: ${message}`);
  };
  const walLevel = (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
  if (walLevel !== 'logical') fail(`the Postgres server has wal_level = ${walLevel}; set wal_level = logical in postgresql.conf and restart it`);

  const found = await client.query<{ oid: number; relreplident: string }>(
    `SELECT c.oid, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [config.schemaName, config.tableName],
  );
  const relation = found.rows[0];
  if (relation === undefined) {
    const known = await client.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
    );
    const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db;
    fail(`table "${table}" does not exist in database "${database}"${didYouMean(table, known.rows.map((r) => r.name))}; check postgresCdc({ table })`);
  }
  const { oid, relreplident } = relation!;

  const columns = await client.query<{ name: string; num: number; type: string; collate: string | null }>(
    `SELECT a.attname AS name, a.attnum AS num, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN a.attcollation <> 0 THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collate
     FROM pg_attribute a
     LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  );
  const byName = new Map(columns.rows.map((c) => [c.name, c]));
  const missing = config.columns.filter((c) => !byName.has(c));
  if (missing.length > 0) {
    fail(`table "${table}" has no column ${missing.map((c) => `"${c}"${didYouMean(c, byName.keys())}`).join(', ')}; its columns are ${[...byName.keys()].join(', ')}. Fix the source's schema or the table`);
  }
  const key = byName.get(config.key)!;

  const unique = await client.query(
    `SELECT 1 FROM pg_index WHERE indrelid = $1 AND indisunique AND indnatts = 1 AND indkey[0] = $2 AND indpred IS NULL`,
    [oid, key.num],
  );
  if (unique.rowCount === 0) fail(`key column "${config.key}" of table "${table}" is not unique on its own; make it the primary key (or add a unique index on it)`);

  if (relreplident !== 'f') {
    const identity = await client.query(
      `SELECT 1 FROM pg_index WHERE indrelid = $1 AND ${relreplident === 'i' ? 'indisreplident' : 'indisprimary'} AND $2 = ANY(indkey::int2[])`,
      [oid, key.num],
    );
    if (relreplident === 'n' || identity.rowCount === 0) {
      fail(`deletes of table "${table}" would not carry key column "${config.key}" (its replica identity is ${relreplident === 'n' ? 'NOTHING' : 'an index without it'}); run ALTER TABLE ${table} REPLICA IDENTITY DEFAULT (with "${config.key}" as primary key) or REPLICA IDENTITY FULL`);
    }
  }

  const sql = `${pgIdent(config.schemaName)}.${pgIdent(config.tableName)}`;
  await ensurePublication(client, config, sql, fail);
  return { sql, keyType: key.type, keyCollate: key.collate === null ? '' : `COLLATE ${key.collate}` };
}

async function ensurePublication(client: pg.Client, config: PostgresCdcConfig, table: string, fail: (message: string) => never): Promise<void> {
  const name = config.publication;
  const existing = await client.query<{ pubinsert: boolean; pubupdate: boolean; pubdelete: boolean }>(
    'SELECT pubinsert, pubupdate, pubdelete FROM pg_publication WHERE pubname = $1',
    [name],
  );
  const publication = existing.rows[0];
  if (publication === undefined) {
    try {
      await client.query(`CREATE PUBLICATION ${pgIdent(name)} FOR TABLE ${table}`);
    } catch (error) {
      fail(`cannot create publication "${name}" (${(error as Error).message}); create it as the table's owner: CREATE PUBLICATION ${name} FOR TABLE ${table}`);
    }
    return;
  }
  if (!publication.pubinsert || !publication.pubupdate || !publication.pubdelete) {
    fail(`publication "${name}" does not publish every insert, update and delete; ALTER PUBLICATION ${name} SET (publish = 'insert, update, delete, truncate')`);
  }
  const listed = await client.query(
    'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
    [name, config.schemaName, config.tableName],
  );
  if (listed.rowCount === 0) fail(`publication "${name}" does not publish table "${config.schemaName}.${config.tableName}"; ALTER PUBLICATION ${name} ADD TABLE ${table}`);
}

/**
 * Which part of a resumed snapshot a key belongs to: the number of part bounds (`to`) that
 * order before it, compared by Postgres in the key column's type and collation (the order the
 * snapshot read the table in).
 */
export async function keyPartIndex(client: pg.Client, shape: TableShape, bounds: readonly string[], key: string): Promise<number> {
  const cast = (expr: string): string => `(${expr}::${shape.keyType} ${shape.keyCollate})`;
  const result = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM unnest($1::text[]) AS b(v) WHERE ${cast('b.v')} < ${cast('$2::text')}`,
    [bounds, key],
  );
  return result.rows[0]!.n;
}
