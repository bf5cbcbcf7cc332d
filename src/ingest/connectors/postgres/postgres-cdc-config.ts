import { CDC_CHANGED_AT, CDC_OP, resolveSetting, type Source } from '../../../definitions/index.js';
import { ConfigError } from '../../../errors.js';

/** A Postgres CDC connector's settings, resolved when it starts. */
export interface PostgresCdcConfig {
  readonly source: string;
  /** The connection string (may hold a password: never log it, see {@link redactConnection}). */
  readonly connection: string;
  readonly schemaName: string;
  readonly tableName: string;
  readonly slot: string;
  readonly publication: string;
  /** The table's key column (a column of `columns`). */
  readonly key: string;
  /** The table columns the source reads: its schema without the columns Sluice adds. */
  readonly columns: readonly string[];
}

/** Replication slots and our publications: lower-case letters, digits and `_`, at most 63 characters. */
const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

/**
 * The settings of a CDC source's `postgresCdc` connector; `env()` settings are read from
 * `environment` here, and only here.
 *
 * @example
 * postgresCdcConfig(project.sources.find((s) => s.name === 'accounts')!);
 */
export function postgresCdcConfig(source: Source, environment: NodeJS.ProcessEnv = process.env): PostgresCdcConfig {
  const where = `source "${source.name}"`;
  const spec = source.connector;
  if (source.kind !== 'cdc' || spec?.kind !== 'postgresCdc') {
    throw new ConfigError('CONFIG_INVALID', `${where} has no postgresCdc connector; declare it with cdcSource({ ..., connector: postgresCdc({ connection, table }) })`);
  }
  if (source.key === undefined || !(source.key in source.schema)) {
    throw new ConfigError('CONFIG_INVALID', `${where}: a CDC source needs its key column in its schema`);
  }
  const dot = spec.table.indexOf('.');
  const [schemaName, tableName] = dot < 0 ? ['public', spec.table] : [spec.table.slice(0, dot), spec.table.slice(dot + 1)];
  if (schemaName === '' || tableName === '') {
    throw new ConfigError('CONFIG_INVALID', `${where}: table "${spec.table}" is not "schema.table" (e.g. "public.accounts")`);
  }
  const fallback = `sluice_${source.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
  const slot = spec.slot ?? fallback;
  const publication = spec.publication ?? fallback;
  for (const [what, name] of [['slot', slot], ['publication', publication]] as const) {
    if (!SLOT_NAME.test(name)) {
      throw new ConfigError('CONFIG_INVALID', `${where}: ${what} name "${name}" may hold only lower-case letters, digits and "_" (at most 63); choose another with postgresCdc({ ${what}: ... })`);
    }
  }
  const connection = resolveSetting(spec.connection, `${where}: connector connection`, environment);
  const columns = Object.keys(source.schema).filter((column) => column !== CDC_CHANGED_AT && column !== CDC_OP);
  return { source: source.name, connection, schemaName, tableName, slot, publication, key: source.key, columns };
}

/**
 * `text` with the connection's password replaced by `***` wherever it appears (a URL's
 * `user:password@`, a `password=` setting, or the bare value), so that messages can be logged.
 *
 * @example
 * redactConnection('postgres://app:s3cret@db/crm', 'postgres://app:s3cret@db/crm'); // 'postgres://app:***@db/crm'
 */
export function redactConnection(text: string, connection: string): string {
  let out = text.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@').replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
  const password = passwordOf(connection);
  if (password !== undefined && password.length >= 3) out = out.split(password).join('***');
  return out;
}

function passwordOf(connection: string): string | undefined {
  const url = /\/\/[^:/@\s]*:([^@\s]*)@/.exec(connection);
  if (url?.[1] !== undefined) {
    try {
      return decodeURIComponent(url[1]);
    } catch {
      return url[1];
    }
  }
  return /password\s*=\s*'?([^'\s]+)/i.exec(connection)?.[1];
}
