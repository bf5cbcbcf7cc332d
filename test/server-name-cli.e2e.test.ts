import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { freePort } from './support/nats-server.js';
import { startSluice } from './support/sluice-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-server-name-cli-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  expect(sluice(dir, 'apply').code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A `sluice serve` expected to stop at start: one that serves instead is ended after a minute (not waited for forever). */
const refusedServe = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sluice.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
};
const serveArgs = (host: string, port: number, ...more: string[]) => ['serve', '--host', host, '--port', String(port), '--no-scheduler', '--log-level', 'warn', ...more];

test('the default name is <hostname>:<bound host>:<port>: a server on another host of the same port starts; a second one on the same host and port is told the port is served (not to rename it)', async () => {
  const port = await freePort();
  const first = await startSluice(dir, serveArgs('127.0.0.1', port));
  try {
    // 127.0.0.2 is loopback too on Linux: another address, the same port (started before the names existed).
    const other = await startSluice(dir, serveArgs('127.0.0.2', port));
    try {
      expect((await fetch(`http://127.0.0.2:${port}/health`)).status).toBe(200);
    } finally {
      await other.stop();
    }
    const again = refusedServe(...serveArgs('127.0.0.1', port));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already served by process ${first.pid} on .*; stop it or pass --port with a free port`));
    expect(again.stderr).not.toContain('--server-name');
    // The default name, given explicitly, is the one held.
    const named = refusedServe(...serveArgs('127.0.0.1', await freePort(), '--server-name', `${hostname()}:127.0.0.1:${port}`));
    expect(named.stderr).toMatch(new RegExp(`a server named "${hostname()}:127\\.0\\.0\\.1:${port}" already runs in process ${first.pid} on `));
  } finally {
    await first.stop();
  }
});

test('--server-name and $SLUICE_SERVER_NAME name the server: a second live server of that name is refused; an empty name is a usage error', async () => {
  const first = await startSluice(dir, serveArgs('127.0.0.1', 0, '--server-name', 'web-x'));
  try {
    const flag = refusedServe(...serveArgs('127.0.0.1', 0, '--server-name', 'web-x'));
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toMatch(new RegExp(`a server named "web-x" already runs in process ${first.pid} on .*--server-name`));
  } finally {
    await first.stop();
  }
  const fromEnv = await startSluice(dir, serveArgs('127.0.0.1', 0), { SLUICE_SERVER_NAME: 'web-y' });
  try {
    const flag = refusedServe(...serveArgs('127.0.0.1', 0, '--server-name', 'web-y'));
    expect(flag.stderr).toMatch(new RegExp(`a server named "web-y" already runs in process ${fromEnv.pid} on `));
  } finally {
    await fromEnv.stop();
  }
  const empty = refusedServe(...serveArgs('127.0.0.1', 0, '--server-name', ''));
  expect(empty.code).toBe(2);
  expect(empty.stderr).toMatch(/--server-name must not be empty/);
});
