import { resolveSetting, type Source } from '../../../definitions/index.js';
import { ConfigError } from '../../../errors.js';
import { pgIdent } from '../postgres/postgres-connection.js';

/** A batch source's `postgresTable` connector, resolved when an ingest starts. */
export interface PostgresTableConfig {
  readonly source: string;
  /** The connection string (may hold a password: never log it, see `redactConnection`). */
  readonly connection: string;
  /** The rows to read, as a `FROM` item: a quoted table, or the query in parentheses. */
  readonly relation: string;
  /** What dead letters and run history name as the rows' origin: `postgres:<table>` or `postgres:query`. */
  readonly origin: string;
  readonly cursor: string;
  readonly key: string;
  readonly pageSize: number;
  /** The source's columns, in schema order. */
  readonly columns: readonly string[];
}

export const DEFAULT_PAGE_SIZE = 10_000;

/**
 * The settings of a batch source's `postgresTable` connector; its `env()` connection is read
 * from `environment` here, and only here.
 *
 * @example
 * postgresTableConfig(project.sources.find((s) => s.name === 'payments')!);
 */
export function postgresTableConfig(source: Source, environment: NodeJS.ProcessEnv = process.env): PostgresTableConfig {
  const where = `source "${source.name}"`;
  const spec = source.connector;
  if (source.kind !== undefined || spec?.kind !== 'postgresTable') {
    throw new ConfigError('CONFIG_INVALID', `${where} has no postgresTable connector: give a file (sluice ingest ${source.name} --file PATH), or declare batchSource({ ..., connector: postgresTable({ connection, table, cursor }) })`);
  }
  const key = spec.key ?? source.eventId;
  if (key === undefined) throw new ConfigError('CONFIG_INVALID', `${where}: postgresTable needs a key column; run "sluice apply" with a current definition`);
  let relation: string;
  let origin: string;
  if (spec.table !== undefined) {
    const parts = spec.table.split('.');
    if (parts.length > 2 || parts.some((p) => p === '')) throw new ConfigError('CONFIG_INVALID', `${where}: table "${spec.table}" is not "schema.table" (e.g. "public.payments")`);
    relation = parts.map(pgIdent).join('.');
    origin = `postgres:${spec.table}`;
  } else {
    // A trailing semicolon would end the statement the query is nested in.
    relation = `(${(spec.query ?? '').replace(/[\s;]+$/, '').trim()})`;
    origin = 'postgres:query';
  }
  const connection = resolveSetting(spec.connection, `${where}: connector connection`, environment);
  return { source: source.name, connection, relation, origin, cursor: spec.cursor, key, pageSize: spec.pageSize ?? DEFAULT_PAGE_SIZE, columns: Object.keys(source.schema) };
}

/** A committed high-water mark: the cursor and key of the last row read, as Postgres prints them (text). */
export interface TableMark {
  readonly cursor: string;
  readonly key: string;
}

/** The mark as the metadata store keeps it. */
export function encodeMark(mark: TableMark): string {
  return JSON.stringify([mark.cursor, mark.key]);
}

/** A stored mark; undefined for none. */
export function decodeMark(text: string | undefined): TableMark | undefined {
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((v) => typeof v === 'string')) {
    throw new ConfigError('CONFIG_INVALID', `the stored high-water mark ${JSON.stringify(text)} is not a postgresTable mark; was the source's connector changed?`);
  }
  return { cursor: parsed[0] as string, key: parsed[1] as string };
}
