import pg from 'pg';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from './server-suites.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Server tests: a suite that needs a real server starts it itself and is skipped, saying why,
 * when it cannot (no binaries here). With `SLUICE_SERVER_TESTS=1` (set by `.ci/run`) the
 * servers must be there: failing to start one is an error, not a skip.
 */
export const SERVER_TESTS_REQUIRED = process.env.SLUICE_SERVER_TESTS === '1';

/** A throwaway PostgreSQL server on a loopback port, with `wal_level = logical`. */
export interface PostgresServer {
  readonly port: number;
  /** A connection string for `database` as the superuser `postgres` (trust authentication, no password). */
  url(database?: string): string;
  stop(): Promise<void>;
}

/** Where the PostgreSQL binaries are: `SLUICE_PG_BIN`, else the newest Debian install. */
function postgresBin(): string | undefined {
  if (process.env.SLUICE_PG_BIN) return process.env.SLUICE_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/**
 * Starts PostgreSQL in a fresh data directory, or says why it cannot. Postgres refuses to run
 * as root, so as root it runs as the `postgres` OS user (`runuser`).
 */
export async function startPostgres(): Promise<PostgresServer | { readonly skip: string }> {
  if (process.env.SLUICE_SERVER_TESTS === '0') return { skip: 'SLUICE_SERVER_TESTS=0' };
  const bin = postgresBin();
  if (bin === undefined) {
    const reason = 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres; apt-get install postgresql, or set SLUICE_PG_BIN)';
    if (SERVER_TESTS_REQUIRED) throw new Error(`SLUICE_SERVER_TESTS=1 but ${reason}`);
    return { skip: reason };
  }
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]);
  let child: ChildProcess | undefined;
  try {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
      chmodSync(dir, 0o700);
    }
    const data = join(dir, 'data');
    const [initdb, initArgs] = run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
    execFileSync(initdb, initArgs, { stdio: 'pipe' });
    const port = await freePort();
    const settings = ['-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'wal_level=logical', '-c', 'fsync=off', '-c', 'max_wal_senders=20', '-c', 'max_replication_slots=20'];
    const [postgres, args] = run(join(bin, 'postgres'), ['-D', data, ...settings]);
    const started = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    let log = '';
    started.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`PostgreSQL did not start within 30 s: ${log}`)), 30_000);
      const check = (): void => {
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      started.stderr!.on('data', check);
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`PostgreSQL exited (${code}) while starting: ${log}`));
      });
    });
    const exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    return {
      port,
      url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
      async stop() {
        // Through pg_ctl: as root the child is runuser, which does not pass signals on.
        const [pgCtl, stopArgs] = run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
        execFileSync(pgCtl, stopArgs, { stdio: 'pipe' });
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    const reason = `PostgreSQL could not be started from ${bin}: ${(error as Error).message}`;
    if (SERVER_TESTS_REQUIRED) throw new Error(reason, { cause: error });
    return { skip: reason };
  }
}

/**
 * A new database `database` on `server` with an `accounts (account_id BIGINT PRIMARY KEY, tier
 * TEXT, credit_limit DOUBLE PRECISION)` table, and a client connected to it. Slot names are
 * server-wide: the `sluice_accounts` slot an earlier test left (its process closed) goes.
 */
export async function accountsDatabase(server: PostgresServer, database: string): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_accounts' AND NOT active");
  await admin.end();
  const db = new pg.Client({ connectionString: server.url(database) });
  await db.connect();
  await db.query('CREATE TABLE accounts (account_id BIGINT PRIMARY KEY, tier TEXT, credit_limit DOUBLE PRECISION)');
  return db;
}
