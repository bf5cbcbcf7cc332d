import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView } from '../src/definitions/index.js';
import { healthStatus } from '../src/observability/status/index.js';
import { appendDropRecords, servingLogDir, servingLogDrops, servingLogFile, servingLogHealth, servingLogWriter, trimDropRecords, type ServingLogDropState } from '../src/observability/serving-log/index.js';
import type { OnlineFeaturesResponse } from '../src/serving/online-features.js';
import { sweepGoneServers } from '../src/serving/http/gone-servers.js';
import { createServer } from '../src/serving/http/server.js';
import { sluice } from './support/cli.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'svc', features: [stats], log: { sampleRate: 1 } }), featureService({ name: 'other', features: [stats], log: { sampleRate: 1 } })] });

const answer = (rows: number, at: number): OnlineFeaturesResponse => ({
  asOf: new Date(at).toISOString(), features: ['stats__n'], stale: 0,
  rows: Array.from({ length: rows }, (_v, r) => ({ customer_id: `c${r}`, stats__n: r }) as never),
  metadata: Array.from({ length: rows }, () => ({ status: ['PRESENT'], ageMs: [0] })),
  views: { stats: { status: 'FRESH', viewHash: 'h', previousDefinition: false, materializedAt: null, snapshots: { txns: 'txns@1' } } },
});

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 3_600_000);
});
afterEach(async () => env.dispose());

/** A writer of the platform's log whose drops go to its health store, flushed only when asked (its timer never fires in a test). */
const writer = (maxBufferedRows: number) => {
  const states: ServingLogDropState[] = [];
  const errors: unknown[] = [];
  const health = servingLogHealth(env.platform.metadata.health, env.platform.now, { server: 'test' });
  const log = servingLogWriter({
    dataDir: env.platform.dataDir, maxBufferedRows, flushIntervalMs: 3_600_000,
    onDrops: (state) => {
      states.push(state);
      health.onDrops(state);
    },
    onError: (error) => errors.push(error),
  });
  // A writer's first report, at start: a condition left by an earlier process ends.
  expect(states.shift()).toMatchObject({ dropping: false, rows: 0, ended: 'started' });
  let requests = 0;
  const serve = (rows: number, at: number, service = 'svc') => log.record(env.project, { entities: {}, service }, answer(rows, at), `r${requests++}`, at);
  const flush = async () => {
    await log.flush();
    await health.settled();
  };
  return { log, states, errors, serve, flush };
};
const dropsFile = (service: string) => readFileSync(join(servingLogDir(env.platform.dataDir, service), 'drops.ndjson'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
const condition = async () => (await healthStatus(env.platform, env.project)).conditions.find((c) => c.kind === 'serving_log_drops');
const alerts = async () => (await env.platform.metadata.health.listAlerts(10)).filter((a) => a.condition.kind === 'serving_log_drops').map((a) => a.transition).reverse();

test('rows dropped with the buffer full fire a condition in sluice status (how many, since when, why), alerted once, cleared by the next flush that writes', async () => {
  const { log, states, serve, flush } = writer(4);
  const t1 = T0 + 1_000;
  // 10 sampled rows into a buffer of 4: 6 are dropped.
  serve(10, t1);
  expect(log.stats.dropped).toBe(6);
  await flush();
  expect(states).toEqual([{ dropping: true, rows: 6, bufferFull: 6, writeFailed: 0, since: t1, services: ['svc'] }]);
  const firing = await condition();
  expect(firing).toMatchObject({ subject: 'serving_log:test', severity: 'warn', since: new Date(T0 + 3_600_000).toISOString(), details: { rows: 6, bufferFull: 6, writeFailed: 0, since: new Date(t1).toISOString(), services: ['svc'] } });
  expect(firing!.message).toMatch(/dropped 6 sampled rows since 2024-03-01T00:00:01.000Z \(of svc\): 6 because its buffer was full .*--serving-log-buffer/);
  // More drops in the same episode: the counts grow, no second alert.
  serve(10, t1 + 20_000);
  env.clock.now += 20_000;
  await flush();
  expect((await condition())!.details).toMatchObject({ rows: 12, bufferFull: 12 });
  expect(await alerts()).toEqual(['fired']);
  // A flush that writes rows with none dropped since the one before ends the episode: cleared, one resolved alert.
  serve(2, t1 + 40_000);
  await flush();
  expect(states.at(-1)).toMatchObject({ dropping: false, rows: 12 });
  expect(await condition()).toBeUndefined();
  expect(await alerts()).toEqual(['fired', 'resolved']);
  // The drops are recorded beside the log for its readers, by the period of the requests that lost rows.
  expect(await servingLogDrops(env.platform.dataDir, { service: 'svc' })).toEqual({ rows: 12, bufferFull: 12, writeFailed: 0, from: t1, to: t1 + 20_000, errors: [] });
  expect((await servingLogDrops(env.platform.dataDir, { since: t1 + 1, until: t1 + 20_000 })).rows).toBe(0);
  expect((await servingLogDrops(env.platform.dataDir, { since: t1 + 20_000 })).rows).toBe(6);
  expect(dropsFile('svc').map((r) => r.views)).toEqual([[['stats']], [['stats']]]);
  await log.close();
});

test('rows of a failed write fire an error condition with the error, and it clears once writes succeed again', async () => {
  const { log, states, errors, serve, flush } = writer(1_000);
  const t1 = T0 + 5_000;
  // The hour's log file cannot be opened for appending: a directory stands in its place.
  const file = servingLogFile(env.platform.dataDir, 'svc', t1);
  mkdirSync(file, { recursive: true });
  serve(3, t1);
  await flush();
  expect(errors.length).toBe(1);
  expect(log.stats).toEqual({ written: 0, dropped: 3 });
  expect(states).toEqual([{ dropping: true, rows: 3, bufferFull: 0, writeFailed: 3, since: t1, lastError: expect.stringMatching(/EISDIR/), services: ['svc'] }]);
  const firing = await condition();
  expect(firing).toMatchObject({ severity: 'error', details: { rows: 3, writeFailed: 3, lastError: expect.stringMatching(/EISDIR/) } });
  expect(firing!.message).toMatch(/3 because a write failed \(.*EISDIR/);
  const status = await healthStatus(env.platform, env.project);
  expect(status.healthy).toBe(false);
  expect(status.problems).toContainEqual(expect.stringMatching(/^serving_log_drops serving_log:test: the serving log dropped 3 sampled rows/));
  // A flush with nothing to write changes nothing: the log has not written again yet.
  await flush();
  expect((await condition())?.severity).toBe('error');
  rmSync(file, { recursive: true });
  serve(2, t1 + 1_000);
  await flush();
  expect(log.stats).toEqual({ written: 2, dropped: 3 });
  expect(await condition()).toBeUndefined();
  expect(await alerts()).toEqual(['fired', 'resolved']);
  expect(await servingLogDrops(env.platform.dataDir, { service: 'svc' })).toMatchObject({ rows: 3, writeFailed: 3, from: t1, to: t1, errors: [expect.stringMatching(/EISDIR/)] });
  // The record names the views its lost rows answered (retention removes it with them).
  expect(dropsFile('svc')).toEqual([expect.objectContaining({ writeFailed: 3, views: [['stats']] })]);
  await log.close();
});

test('a condition left firing by an earlier process of the same server is cleared when a writer starts (one from before conditions named their server by the server\'s sweep); a writer that never drops makes no alert', async () => {
  for (const subject of ['serving_log:test', 'serving_log']) await env.platform.metadata.health.report({ kind: 'serving_log_drops', subject, firing: true, severity: 'warn', message: 'left by a process that stopped' }, env.platform.now());
  const { log, states, serve, flush } = writer(1_000);
  await sweepGoneServers(env.platform.metadata, env.platform.now, 'test').close();
  await flush();
  expect(await condition()).toBeUndefined();
  serve(2, T0);
  await flush();
  serve(2, T0 + 1);
  await flush();
  await log.close();
  expect(states).toEqual([]);
  expect(await alerts()).toEqual(['fired', 'fired', 'resolved', 'resolved']);
});

test('a server whose serving log drops rows: the condition is in the status that another process reads from the metadata', async () => {
  const app = await createServer(env.platform, { servingLogBuffer: 4, serverName: 'web-1:6566' });
  const response = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { service: 'svc', entities: { customer_id: Array.from({ length: 10 }, (_v, i) => `c${i}`) } } });
  expect(response.statusCode).toBe(200);
  await app.close();
  const status = await healthStatus(env.platform, env.project);
  expect(status.conditions.find((c) => c.kind === 'serving_log_drops')).toMatchObject({ subject: 'serving_log:web-1:6566', severity: 'warn', details: { server: 'web-1:6566', rows: 6, bufferFull: 6, services: ['svc'] } });
  expect(await servingLogDrops(env.platform.dataDir)).toMatchObject({ rows: 6, bufferFull: 6 });
  // `sluice status`, another process, shows it.
  const shown = sluice(env.dir, 'status');
  expect(shown.stdout).toMatch(/warn\s+serving_log_drops\s+serving_log:web-1:6566\s+.*the serving log dropped 6 sampled rows/);
  expect(sluice(env.dir, 'status', '--json').json<{ conditions: { kind: string; details: unknown }[] }>().conditions).toContainEqual(expect.objectContaining({ kind: 'serving_log_drops', details: expect.objectContaining({ rows: 6 }) }));
});

test('a drops append that fails for one service writes the other services\' records once, and the failed ones once it can (no record written twice)', async () => {
  const { log, errors, serve, flush } = writer(4);
  const t1 = T0 + 1_000;
  // `other`'s drops file cannot be appended to: a directory stands in its place.
  const othersDrops = join(servingLogDir(env.platform.dataDir, 'other'), 'drops.ndjson');
  mkdirSync(othersDrops, { recursive: true });
  serve(10, t1);
  serve(10, t1, 'other');
  await flush();
  expect(errors.some((e) => /EISDIR/.test(String(e)))).toBe(true);
  for (let i = 1; i <= 5; i++) {
    serve(1, t1 + i * 1_000);
    await flush();
  }
  expect((await servingLogDrops(env.platform.dataDir, { service: 'svc' })).rows).toBe(6);
  rmSync(othersDrops, { recursive: true });
  serve(1, t1 + 10_000, 'other');
  await flush();
  serve(1, t1 + 11_000, 'other');
  await flush();
  expect((await servingLogDrops(env.platform.dataDir, { service: 'svc' })).rows).toBe(6);
  expect((await servingLogDrops(env.platform.dataDir, { service: 'other' })).rows).toBe(10);
  await log.close();
});

test('the condition stays firing while one service\'s writes fail, whatever other services write; it clears, with the episode\'s total, once that service writes again', async () => {
  const { log, states, serve, flush } = writer(1_000);
  const t1 = T0 + 5_000;
  const file = servingLogFile(env.platform.dataDir, 'svc', t1);
  mkdirSync(file, { recursive: true });
  for (let i = 0; i < 3; i++) {
    // Past the health store's update interval, so the condition's counts are those of the episode so far.
    env.clock.now += 10_000;
    serve(2, t1 + i * 10);
    await flush();
    serve(2, t1 + i * 10 + 5, 'other');
    await flush();
  }
  expect(await alerts()).toEqual(['fired']);
  expect(states.filter((s) => s.dropping).at(-1)).toMatchObject({ rows: 6, writeFailed: 6, services: ['svc'] });
  expect((await condition())!.details).toMatchObject({ rows: 6, writeFailed: 6 });
  rmSync(file, { recursive: true });
  serve(2, t1 + 100);
  await flush();
  expect(states.at(-1)).toMatchObject({ dropping: false, rows: 6, writeFailed: 6, ended: 'written' });
  expect(await condition()).toBeUndefined();
  expect(await alerts()).toEqual(['fired', 'resolved']);
  await log.close();
});

test('a record appended after a torn last line starts on a line of its own; trimming keeps the torn line apart', async () => {
  const record = (from: number, n: number) => ({ service: 'svc', from, to: from + 10, bufferFull: n, writeFailed: 0 });
  await appendDropRecords(env.platform.dataDir, [record(T0, 5)]);
  const path = join(servingLogDir(env.platform.dataDir, 'svc'), 'drops.ndjson');
  appendFileSync(path, '{"service":"svc","from":');
  await appendDropRecords(env.platform.dataDir, [record(T0 + 100, 7)]);
  expect((await servingLogDrops(env.platform.dataDir, { service: 'svc' })).rows).toBe(12);
  expect(await trimDropRecords(env.platform.dataDir, "svc", (r) => r.to < T0 + 50, false)).toHaveLength(1);
  expect(readFileSync(path, 'utf8').split('\n')).toEqual(['{"service":"svc","from":', JSON.stringify(record(T0 + 100, 7)), '']);
  expect((await servingLogDrops(env.platform.dataDir, { service: 'svc' })).rows).toBe(7);
});

test('a writer that closes with nothing dropped since its last good flush ends the condition (stopped); one that stops while dropping leaves it to the next start', async () => {
  const first = writer(4);
  const t1 = T0 + 1_000;
  const file = servingLogFile(env.platform.dataDir, 'svc', t1);
  mkdirSync(file, { recursive: true });
  first.serve(2, t1);
  await first.flush();
  // Only `other` writes afterwards: `svc`, whose write failed, went quiet; its episode stays open while the server runs.
  first.serve(2, t1 + 1_000, 'other');
  await first.flush();
  expect((await condition())?.severity).toBe('error');
  await first.log.close();
  await first.flush();
  expect(first.states.at(-1)).toMatchObject({ dropping: false, rows: 2, writeFailed: 2, ended: 'stopped' });
  expect(await condition()).toBeUndefined();
  rmSync(file, { recursive: true });

  // A writer stopped while dropping (its final flush dropped rows): the condition stays for the operator ...
  const second = writer(4);
  second.serve(10, t1 + 5_000);
  await second.log.close();
  await second.flush();
  expect((await condition())?.details).toMatchObject({ rows: 6 });
  // ... until a writer starts again, even with the log off and no traffic: a dead process's condition does not fire forever.
  const health = servingLogHealth(env.platform.metadata.health, env.platform.now, { server: 'test' });
  const states: ServingLogDropState[] = [];
  const off = servingLogWriter({ dataDir: env.platform.dataDir, flushIntervalMs: 3_600_000, onDrops: (s) => { states.push(s); health.onDrops(s); } });
  await health.settled();
  expect(states).toEqual([{ dropping: false, rows: 0, bufferFull: 0, writeFailed: 0, since: null, services: [], ended: 'started' }]);
  expect(await condition()).toBeUndefined();
  expect(await alerts()).toEqual(['fired', 'resolved', 'fired', 'resolved']);
  await off.close();
});

test('records a service cannot append are held in bounded memory: past 100, merged into one covering them all (nothing lost)', async () => {
  const { log, serve, flush } = writer(1);
  const othersDrops = join(servingLogDir(env.platform.dataDir, 'other'), 'drops.ndjson');
  mkdirSync(othersDrops, { recursive: true });
  const t1 = T0 + 1_000;
  for (let i = 0; i < 150; i++) {
    serve(3, t1 + i, 'other');
    await flush();
  }
  rmSync(othersDrops, { recursive: true });
  serve(1, t1 + 1_000, 'other');
  await flush();
  const lines = readFileSync(othersDrops, 'utf8').split('\n').filter((line) => line !== '');
  expect(lines.length).toBeLessThanOrEqual(101);
  // The merged record keeps the views of the records it covers.
  expect(new Set(dropsFile('other').map((r) => JSON.stringify(r.views)))).toEqual(new Set([JSON.stringify([['stats']])]));
  expect(await servingLogDrops(env.platform.dataDir, { service: 'other' })).toMatchObject({ rows: 300, bufferFull: 300, from: t1, to: t1 + 149 });
  await log.close();
});

test('rows dropped with the buffer full (shared by every service) end with any flush that writes with none dropped, whichever service writes', async () => {
  const { log, states, serve, flush } = writer(4);
  serve(10, T0 + 1_000);
  await flush();
  serve(2, T0 + 2_000, 'other');
  await flush();
  expect(states.at(-1)).toMatchObject({ dropping: false, rows: 6, bufferFull: 6, ended: 'written' });
  expect(await condition()).toBeUndefined();
  await log.close();
});

test('two servers over one metadata store: one server\'s start and good writes do not clear the condition another server\'s drops fired', async () => {
  const dropping = await createServer(env.platform, { servingLogBuffer: 4 });
  const serve = (app: typeof dropping, n: number) => app.inject({ method: 'POST', url: '/v1/features/online', payload: { service: 'svc', entities: { customer_id: Array.from({ length: n }, (_v, i) => `c${i}`) } } });
  expect((await serve(dropping, 10)).statusCode).toBe(200);
  // The dropping server's own flush (its timer) reports the drops.
  await vi.waitFor(async () => expect(await condition()).toBeDefined(), { timeout: 10_000 });
  // A second server starts over the same platform and writes every row it samples.
  const other = await createServer(env.platform);
  expect((await serve(other, 2)).statusCode).toBe(200);
  await other.close();
  // The first server still runs and its drops are still reported.
  const firing = (await healthStatus(env.platform, env.project)).conditions.filter((c) => c.kind === 'serving_log_drops');
  expect(firing).toEqual([expect.objectContaining({ severity: 'warn', details: expect.objectContaining({ rows: 6, bufferFull: 6 }) })]);
  await dropping.close();
});

test('each server its own condition, named in sluice status: a restarted server ends its own; a server that no longer runs has its condition ended by the next server to start; a live server\'s name is refused to another', async () => {
  const serve = (app: Awaited<ReturnType<typeof createServer>>, n: number) => app.inject({ method: 'POST', url: '/v1/features/online', payload: { service: 'svc', entities: { customer_id: Array.from({ length: n }, (_v, i) => `c${i}`) } } });
  const firing = async () => (await healthStatus(env.platform, env.project)).conditions.filter((c) => c.kind === 'serving_log_drops').map((c) => c.subject).sort();
  const a = await createServer(env.platform, { servingLogBuffer: 4, serverName: 'web-a' });
  const b = await createServer(env.platform, { servingLogBuffer: 4, serverName: 'web-b' });
  await expect(createServer(env.platform, { serverName: 'web-a' })).rejects.toThrow(/a server named "web-a" already runs in process \d+ on .*--server-name/);
  await serve(a, 10);
  await serve(b, 10);
  // Both stop while dropping (their last flush dropped rows): each condition stays for the operator.
  await a.close();
  await b.close();
  expect(await firing()).toEqual(['serving_log:web-a', 'serving_log:web-b']);
  const shown = sluice(env.dir, 'status').stdout;
  for (const server of ['web-a', 'web-b']) expect(shown).toMatch(new RegExp(`serving_log_drops\\s+serving_log:${server}\\s+.*dropped 6 sampled rows since .* \\(of svc\\)`));
  // web-a restarts: its own condition ends; so does web-b's, whose name no live process holds (it never came back).
  const restarted = await createServer(env.platform, { serverName: 'web-a' });
  await vi.waitFor(async () => expect(await firing()).toEqual([]), { timeout: 10_000 });
  const ended = (await env.platform.metadata.health.list({ kind: 'serving_log_drops' })).map((c) => [c.subject, c.message]).sort();
  expect(ended).toEqual([
    ['serving_log:web-a', expect.stringMatching(/^this server started again/)],
    ['serving_log:web-b', expect.stringMatching(/^server "web-b" no longer runs/)],
  ]);
  // A server that runs keeps its condition when another starts.
  const c = await createServer(env.platform, { servingLogBuffer: 4, serverName: 'web-c' });
  await serve(c, 10);
  await vi.waitFor(async () => expect(await firing()).toEqual(['serving_log:web-c']), { timeout: 10_000 });
  const d = await createServer(env.platform, { serverName: 'web-d' });
  await d.close();
  await restarted.close();
  expect(await firing()).toEqual(['serving_log:web-c']);
  await c.close();
});

test('a drop record names each distinct list of views its lost rows answered', async () => {
  const log = servingLogWriter({ dataDir: env.platform.dataDir, defaultRate: 1, flushIntervalMs: 3_600_000 });
  // Feature-list requests of two lists in one hour's file, whose append fails.
  const t1 = T0 + 1_000;
  const file = servingLogFile(env.platform.dataDir, '_features', t1);
  mkdirSync(file, { recursive: true });
  const withViews = (rows: number, at: number, views: string[]): OnlineFeaturesResponse => ({ ...answer(rows, at), features: views.map((v) => `${v}__n`), views: Object.fromEntries(views.map((v) => [v, answer(1, at).views.stats!])) });
  log.record(env.project, { entities: {}, features: ['stats:n'] }, withViews(2, t1, ['stats']), 'a', t1);
  log.record(env.project, { entities: {}, features: ['stats:n', 'other:n'] }, withViews(2, t1 + 1, ['stats', 'other']), 'b', t1 + 1);
  log.record(env.project, { entities: {}, features: ['stats:n'] }, withViews(2, t1 + 2, ['stats']), 'c', t1 + 2);
  await log.flush();
  expect(dropsFile('_features')).toEqual([expect.objectContaining({ writeFailed: 6, views: [['stats'], ['stats', 'other']] })]);
  rmSync(file, { recursive: true });
  await log.close();
});
