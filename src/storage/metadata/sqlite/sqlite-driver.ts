import { createRequire } from 'node:module';
import { AdapterError } from '../../../errors.js';

export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** The subset of a synchronous SQLite binding the metadata store uses. */
export interface SqliteConnection {
  readonly driver: SqliteDriverName;
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

type Constructor = new (path: string) => Omit<SqliteConnection, 'driver'>;

function nodeSqlite(): Constructor | undefined {
  // Loading node:sqlite prints an ExperimentalWarning on some Node versions; it is expected here.
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes('SQLite')) (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    const sqlite = process.getBuiltinModule?.('node:sqlite') as { DatabaseSync?: Constructor } | undefined;
    return sqlite?.DatabaseSync;
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * The SQLite bindings this Node offers, preferred first. Node's built-in `node:sqlite` where it
 * exists (Node >= 22.13); otherwise better-sqlite3. better-sqlite3 12 is not used on newer Node:
 * there, Node's ObjectWrap changed and a garbage-collected statement can abort the process
 * (RemoveEnvironmentCleanupHook assertion), and better-sqlite3 13, which fixes it, crashes on Node 20.
 */
export function availableSqliteDrivers(): SqliteDriverName[] {
  return nodeSqlite() !== undefined ? ['node:sqlite'] : ['better-sqlite3'];
}

/** SQLite's primary result codes for a file the process may not write or read: READONLY, IOERR, FULL, CANTOPEN. */
const FILE_REFUSED = new Set([8, 10, 13, 14]);
const FILE_REFUSED_NAMES = /^SQLITE_(READONLY|IOERR|FULL|CANTOPEN)/;

/**
 * A driver error as the user can act on it: one caused by the file system (read-only file or
 * directory, full disk, I/O error, a file that cannot be opened) becomes an AdapterError naming
 * the file and the fix; any other (a constraint, a mistake in Sluice's SQL) stays as it is.
 */
function fileError(path: string, error: unknown): unknown {
  const { code, errcode, message } = (error ?? {}) as { code?: unknown; errcode?: unknown; message?: unknown };
  const refused = (typeof code === 'string' && FILE_REFUSED_NAMES.test(code)) || (typeof errcode === 'number' && FILE_REFUSED.has(errcode & 0xff));
  if (!refused) return error;
  return new AdapterError('ADAPTER_FAILED', `metadata store ${path}: ${String(message)}: make it and its directory writable (check their permissions, free disk space) and run it again`, { cause: error });
}

/** Runs `call`, turning a file system refusal into the error `fileError` makes of it. */
function onFile<T>(path: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fileError(path, error);
  }
}

/** Opens a SQLite database file with the given (or the preferred) driver. */
export function openSqlite(path: string, driver: SqliteDriverName = availableSqliteDrivers()[0]!): SqliteConnection {
  let Database: Constructor | undefined;
  if (driver === 'node:sqlite') Database = nodeSqlite();
  else Database = createRequire(import.meta.url)('better-sqlite3') as Constructor;
  if (!Database) throw new AdapterError('ADAPTER_FAILED', `SQLite driver ${driver} is not available on Node ${process.version}`);
  const db = onFile(path, () => new Database(path));
  // Closing twice is harmless with both drivers (better-sqlite3 ignores it; node:sqlite throws "database is not open").
  let open = true;
  const close = () => {
    if (open) db.close();
    open = false;
  };
  const prepare = (sql: string): SqliteStatement => {
    const statement = onFile(path, () => db.prepare(sql));
    return {
      run: (...params) => onFile(path, () => statement.run(...params)),
      get: (...params) => onFile(path, () => statement.get(...params)),
      all: (...params) => onFile(path, () => statement.all(...params)),
    };
  };
  return { driver, exec: (sql) => onFile(path, () => db.exec(sql)), prepare, close };
}

/** Runs `body` in a write transaction (BEGIN IMMEDIATE: takes the write lock up front, waiting up to busy_timeout). */
export function inTransaction<T>(db: SqliteConnection, body: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = body();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
