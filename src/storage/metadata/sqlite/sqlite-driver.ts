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

/** Opens a SQLite database file with the given (or the preferred) driver. */
export function openSqlite(path: string, driver: SqliteDriverName = availableSqliteDrivers()[0]!): SqliteConnection {
  let Database: Constructor | undefined;
  if (driver === 'node:sqlite') Database = nodeSqlite();
  else Database = createRequire(import.meta.url)('better-sqlite3') as Constructor;
  if (!Database) throw new AdapterError('ADAPTER_FAILED', `SQLite driver ${driver} is not available on Node ${process.version}`);
  const db = new Database(path);
  // Closing twice is harmless with both drivers (better-sqlite3 ignores it; node:sqlite throws "database is not open").
  let open = true;
  const close = () => {
    if (open) db.close();
    open = false;
  };
  return { driver, exec: (sql) => db.exec(sql), prepare: (sql) => db.prepare(sql), close };
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
