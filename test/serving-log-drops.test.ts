import { mkdirSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView } from '../src/definitions/index.js';
import { healthStatus } from '../src/observability/status/index.js';
import { servingLogDrops, servingLogFile, servingLogHealth, servingLogWriter, type ServingLogDropState } from '../src/observability/serving-log/index.js';
import type { OnlineFeaturesResponse } from '../src/serving/online-features.js';
import { createServer } from '../src/serving/http/server.js';
import { sluice } from './support/cli.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'svc', features: [stats], log: { sampleRate: 1 } })] });

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
  const health = servingLogHealth(env.platform.metadata.health, env.platform.now);
  const log = servingLogWriter({
    dataDir: env.platform.dataDir, maxBufferedRows, flushIntervalMs: 3_600_000,
    onDrops: (state) => {
      states.push(state);
      health.onDrops(state);
    },
    onError: (error) => errors.push(error),
  });
  let requests = 0;
  const serve = (rows: number, at: number) => log.record(env.project, { entities: {}, service: 'svc' }, answer(rows, at), `r${requests++}`, at);
  const flush = async () => {
    await log.flush();
    await health.settled();
  };
  return { log, states, errors, serve, flush };
};
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
  expect(firing).toMatchObject({ subject: 'serving_log', severity: 'warn', since: new Date(T0 + 3_600_000).toISOString(), details: { rows: 6, bufferFull: 6, writeFailed: 0, since: new Date(t1).toISOString(), services: ['svc'] } });
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
  expect(status.problems).toContainEqual(expect.stringMatching(/^serving_log_drops serving_log: the serving log dropped 3 sampled rows/));
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
  await log.close();
});

test('a condition left firing by an earlier process is cleared by the first flush that writes rows; a writer that never drops makes no alert', async () => {
  await env.platform.metadata.health.report({ kind: 'serving_log_drops', subject: 'serving_log', firing: true, severity: 'warn', message: 'left by a process that stopped' }, env.platform.now());
  const { log, states, serve, flush } = writer(1_000);
  await flush();
  expect(await condition()).toBeDefined();
  serve(2, T0);
  await flush();
  expect(states).toEqual([{ dropping: false, rows: 0, bufferFull: 0, writeFailed: 0, since: null, services: [] }]);
  expect(await condition()).toBeUndefined();
  serve(2, T0 + 1);
  await flush();
  expect(states.length).toBe(1);
  expect(await alerts()).toEqual(['fired', 'resolved']);
  await log.close();
});

test('a server whose serving log drops rows: the condition is in the status that another process reads from the metadata', async () => {
  const app = await createServer(env.platform, { servingLogBuffer: 4 });
  const response = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { service: 'svc', entities: { customer_id: Array.from({ length: 10 }, (_v, i) => `c${i}`) } } });
  expect(response.statusCode).toBe(200);
  await app.close();
  const status = await healthStatus(env.platform, env.project);
  expect(status.conditions.find((c) => c.kind === 'serving_log_drops')).toMatchObject({ subject: 'serving_log', severity: 'warn', details: { rows: 6, bufferFull: 6, services: ['svc'] } });
  expect(await servingLogDrops(env.platform.dataDir)).toMatchObject({ rows: 6, bufferFull: 6 });
  // `sluice status`, another process, shows it.
  const shown = sluice(env.dir, 'status');
  expect(shown.stdout).toMatch(/warn\s+serving_log_drops\s+serving_log\s+.*the serving log dropped 6 sampled rows/);
  expect(sluice(env.dir, 'status', '--json').json<{ conditions: { kind: string; details: unknown }[] }>().conditions).toContainEqual(expect.objectContaining({ kind: 'serving_log_drops', details: expect.objectContaining({ rows: 6 }) }));
});
