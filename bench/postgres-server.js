// A throwaway PostgreSQL for benches: the plain-JS twin of test/support/postgres-server.ts
// (which tests keep, with its skip-or-fail policy). A fresh data directory, wal_level=logical,
// a random loopback port; as root it runs as the `postgres` OS user (Postgres refuses root).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clearTimeout, setTimeout } from 'node:timers';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** Where the PostgreSQL binaries are: `SLUICE_PG_BIN`, else the newest Debian install. */
export function postgresBin() {
  if (process.env.SLUICE_PG_BIN) return process.env.SLUICE_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions[0] === undefined) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): apt-get install postgresql, or set SLUICE_PG_BIN');
  return join(root, versions[0], 'bin');
}

/**
 * Starts PostgreSQL; `settings` are extra `-c name=value` settings. Resolves to
 * `{ port, version, url(database), stop() }`.
 */
export async function startPostgres(settings = []) {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (command, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]);
  let child;
  try {
    if (asRoot) {
      chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
      chmodSync(dir, 0o700);
    }
    const data = join(dir, 'data');
    execFileSync(...run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']), { stdio: 'pipe' });
    const port = await freePort();
    const options = ['-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'wal_level=logical', '-c', 'max_wal_senders=20', '-c', 'max_replication_slots=20', ...settings.flatMap((s) => ['-c', s])];
    child = spawn(...run(join(bin, 'postgres'), ['-D', data, ...options]), { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    await new Promise((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`PostgreSQL did not start within 30 s: ${log}`)), 30_000);
      child.stderr.on('data', (d) => {
        if (log.length < 1 << 16) log += d.toString();
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          ready();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`PostgreSQL exited (${code}) while starting: ${log}`));
      });
    });
    const exited = new Promise((done) => child.once('exit', done));
    return {
      port,
      version: execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim(),
      url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
      async stop() {
        // Through pg_ctl: as root the child is runuser, which does not pass signals on.
        execFileSync(...run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']), { stdio: 'pipe' });
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
