import { hostname } from 'node:os';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView } from '../src/definitions/index.js';
import type { Platform } from '../src/platform.js';
import { createServer } from '../src/serving/http/server.js';
import { sweepGoneServers } from '../src/serving/http/gone-servers.js';
import { serverIsGone } from '../src/serving/http/server-name.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'svc', features: [stats], log: { sampleRate: 1 } })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 3_600_000);
});
afterEach(async () => env.dispose());

/** A pid no process has (above Linux's pid_max of 2^22). */
const DEAD_PID = 2 ** 22 + 1;
const holdAs = (server: string, host: string, pid: number, ttlMs = 60_000, id = `${host}:${pid}:old`) =>
  env.platform.metadata.acquireLease(`server:${server}`, { id, host, pid }, ttlMs, () => false);

test('two servers started at once under one name: one is refused', async () => {
  const both = await Promise.allSettled([createServer(env.platform, { serverName: 'x' }), createServer(env.platform, { serverName: 'x' })]);
  expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  const refused = both.find((r) => r.status === 'rejected')!;
  expect(String(refused.reason)).toMatch(/a server named "x" already runs in process \d+/);
  for (const r of both) if (r.status === 'fulfilled') await r.value.close();
});

test('a refused start leaves nothing running (no registry refresh); a start failing after the name was taken releases it', async () => {
  const first = await createServer(env.platform, { serverName: 'y' });
  const latest = vi.spyOn(env.platform.metadata, 'latestRegistry');
  await expect(createServer(env.platform, { serverName: 'y', registryRefreshMs: 20 })).rejects.toThrow(/a server named "y" already runs/);
  const called = latest.mock.calls.length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(latest.mock.calls.length).toBe(called);
  latest.mockRestore();
  await first.close();
  // The serving log's directory is read once the name is held: a failure there must release the name.
  const failing = new Proxy(env.platform, {
    get: (target, key) => {
      if (key === 'dataDir') throw new Error('no data directory');
      return Reflect.get(target, key) as unknown;
    },
  }) as Platform;
  await expect(createServer(failing, { serverName: 'z' })).rejects.toThrow(/no data directory/);
  expect((await env.platform.metadata.listLeases()).map((l) => l.name)).not.toContain('server:z');
  const again = await createServer(env.platform, { serverName: 'z' });
  await again.close();
});

test('serverIsGone: a holder on this host whose process died, an expired holder, and an earlier process with this pid are gone; a live holder is not', async () => {
  await holdAs('dead', hostname(), DEAD_PID);
  await holdAs('expired', 'elsewhere', 4242, -1);
  await holdAs('live', 'elsewhere', 4242);
  await holdAs('pid-1', hostname(), process.pid);
  expect(await serverIsGone(env.platform.metadata, 'dead')).toBe(true);
  expect(await serverIsGone(env.platform.metadata, 'expired')).toBe(true);
  expect(await serverIsGone(env.platform.metadata, 'never-ran')).toBe(true);
  expect(await serverIsGone(env.platform.metadata, 'live')).toBe(false);
  // A holder with this host and pid that this process does not hold: an earlier process (a container's pid 1), taken over at once.
  expect(await serverIsGone(env.platform.metadata, 'pid-1')).toBe(true);
  const restarted = await createServer(env.platform, { serverName: 'pid-1' });
  expect(await serverIsGone(env.platform.metadata, 'pid-1')).toBe(false);
  await restarted.close();
  expect(await serverIsGone(env.platform.metadata, 'pid-1')).toBe(true);
});

test('a server that still ran when another started has its condition ended once it is gone, by the sweep that checks again', async () => {
  const store = env.platform.metadata.health;
  await store.report({ kind: 'serving_log_drops', subject: 'serving_log:old', firing: true, severity: 'warn', message: 'dropped', details: { server: 'old' } }, env.platform.now());
  let oldGone = false;
  const sweep = sweepGoneServers(env.platform.metadata, env.platform.now, 'new', { isGone: async () => oldGone, everyMs: 20 });
  await sweep.settled();
  const firing = async () => (await store.list({ kind: 'serving_log_drops', firing: true })).map((c) => c.subject);
  expect(await firing()).toEqual(['serving_log:old']);
  oldGone = true;
  await vi.waitFor(async () => expect(await firing()).toEqual([]), { timeout: 10_000 });
  await sweep.close();
});

test('a server that no longer runs has every condition of its own ended by the next server to start (its audit_failing too); a live server keeps its own', async () => {
  const store = env.platform.metadata.health;
  await holdAs('dead', hostname(), DEAD_PID);
  await holdAs('live', 'elsewhere', 4242);
  for (const server of ['dead', 'live']) {
    await store.report({ kind: 'audit_failing', subject: `audit:${server}`, firing: true, severity: 'error', message: 'cannot write its audit records', details: { error: 'disk full' } }, env.platform.now());
    await store.report({ kind: 'serving_log_drops', subject: `serving_log:${server}`, firing: true, severity: 'warn', message: 'dropped', details: { server } }, env.platform.now());
  }
  const firing = async () => (await store.list({ firing: true })).map((c) => `${c.kind} ${c.subject}`).sort();
  const app = await createServer(env.platform, { serverName: 'new' });
  await vi.waitFor(async () => expect(await firing()).toEqual(['audit_failing audit:live', 'serving_log_drops serving_log:live']), { timeout: 10_000 });
  const ended = (await store.list({ kind: 'audit_failing', firing: false })).map((c) => [c.subject, c.message, c.details]);
  expect(ended).toEqual([['audit:dead', expect.stringMatching(/^server "dead" no longer runs \(no live process holds its name\): its condition ends/), expect.objectContaining({ ended: 'gone' })]]);
  await app.close();
});
