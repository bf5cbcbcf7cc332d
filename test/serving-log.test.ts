import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureService, featureView, field, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { readServingLog, servedEntityKeySql, servedRowBatches, servedRowsSql, servedStatusSql, servedValueSql, servingLogFile, servingLogFiles, type ServedRow } from '../src/observability/serving-log/index.js';
import { materialize } from '../src/processing/materialize.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T10:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', tier: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { total: sum('amount'), tier: field('tier') } });
const spec = defineProject({
  name: 'p', entities: [customer], sources: [txns], featureViews: [stats],
  featureServices: [featureService({ name: 'scoring', features: [stats] }), featureService({ name: 'all_keys', features: [stats], log: { sampleRate: 1 } })],
});
const KEYS = Array.from({ length: 400 }, (_, i) => `c${i}`);

/** The sampling rule of served-row.ts written out again (FNV-1a over UTF-16 code units), sharing no code with the writer. */
function referenceSampled(key: string, rate: number): boolean {
  let h = 2166136261;
  for (const ch of key) for (let i = 0; i < ch.length; i++) h = Number((BigInt((h ^ ch.charCodeAt(i)) >>> 0) * 16777619n) % 4294967296n);
  return h % 10_000 < Math.round(rate * 10_000);
}

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0);
  writeFileSync(join(env.dir, 't.csv'), ['customer_id,amount,tier,ts', ...KEYS.map((k, i) => `${k},${i},${i % 2 ? 'gold' : 'silver'},2024-03-01T09:00:00Z`)].join('\n'));
  await ingestFile(env.platform, env.project, 'txns', join(env.dir, 't.csv'));
  await materialize(env.platform, env.project);
});
afterEach(async () => env.dispose());

test('every request of a sampled key is logged, none of an unsampled one; the decision is the rule of served-row.ts', async () => {
  const app = await createServer(env.platform, { servingLogRate: 0.25 });
  const asked = new Map<string, number>();
  // Three rounds of requests in different groupings: a key is asked 3 times, in different requests.
  for (let round = 0; round < 3; round++) {
    for (let from = round * 7; from < KEYS.length + round * 7; from += 50) {
      const keys = KEYS.slice(from % KEYS.length, Math.min(KEYS.length, (from % KEYS.length) + 50));
      for (const k of keys) asked.set(k, (asked.get(k) ?? 0) + 1);
      const response = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: keys }, service: 'scoring' } });
      expect(response.statusCode).toBe(200);
    }
  }
  await app.close();
  const rows = await readServingLog(env.platform.dataDir, { service: 'scoring' });
  const logged = new Map<string, ServedRow[]>();
  for (const row of rows) logged.set(row.entityKey, [...(logged.get(row.entityKey) ?? []), row]);
  const sampled = KEYS.filter((k) => referenceSampled(k, 0.25));
  expect(sampled.length).toBeGreaterThan(60);
  expect(sampled.length).toBeLessThan(140);
  expect([...logged.keys()].sort()).toEqual([...sampled].sort());
  for (const key of sampled) {
    expect(logged.get(key)!.length).toBe(asked.get(key));
    expect(new Set(logged.get(key)!.map((r) => r.requestId)).size).toBe(asked.get(key));
  }
  const c = Number(sampled[0]!.slice(1));
  expect(logged.get(sampled[0]!)![0]).toMatchObject({
    service: 'scoring', keys: { customer_id: sampled[0] }, asOf: new Date(T0).toISOString(), servedAt: T0,
    values: { stats__total: c, stats__tier: c % 2 ? 'gold' : 'silver' }, statuses: { stats__total: 'PRESENT', stats__tier: 'PRESENT' },
  });
  expect(Object.keys(logged.get(sampled[0]!)![0]!.views.stats!.snapshots)).toEqual(['txns']);
  expect(readFileSync(servingLogFile(env.platform.dataDir, 'scoring', T0), 'utf8').endsWith('\n')).toBe(true);
});

test('a service\'s log.sampleRate wins over the server default; feature-list requests log under _features', async () => {
  const app = await createServer(env.platform, { servingLogRate: 0 });
  await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: KEYS.slice(0, 20) }, service: 'all_keys' } });
  await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: KEYS.slice(0, 20) }, service: 'scoring' } });
  await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: KEYS.slice(0, 20) }, features: ['stats:total'] } });
  await app.close();
  expect(await readServingLog(env.platform.dataDir, { service: 'all_keys' })).toHaveLength(20);
  expect(await readServingLog(env.platform.dataDir, { service: 'scoring' })).toHaveLength(0);
  expect(await readServingLog(env.platform.dataDir)).toHaveLength(20);
  const app2 = await createServer(env.platform, { servingLogRate: 1 });
  await app2.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c1'] }, features: ['stats:total'] } });
  await app2.close();
  expect(await readServingLog(env.platform.dataDir, { service: '_features' })).toMatchObject([{ entityKey: 'c1', values: { stats__total: 1 } }]);
});

test('with the log on the answer is the same bytes and headers as with it off, short and long (a long one is sent as the bytes the log copied from)', async () => {
  const off = await createServer(env.platform, { servingLogRate: 0 });
  const on = await createServer(env.platform, { servingLogRate: 1 });
  for (const keys of [['c1'], KEYS]) {
    const payload = { entities: { customer_id: keys }, service: 'scoring' };
    const [a, b] = await Promise.all([off, on].map((app) => app.inject({ method: 'POST', url: '/v1/features/online', payload })));
    expect(b!.rawPayload.equals(a!.rawPayload)).toBe(true);
    expect(b!.headers['content-type']).toBe(a!.headers['content-type']);
    expect(b!.headers['content-length']).toBe(a!.headers['content-length']);
    expect(a!.rawPayload.length > 16 * 1024).toBe(keys.length > 1);
  }
  await Promise.all([off.close(), on.close()]);
  const logged = await readServingLog(env.platform.dataDir, { service: 'scoring' });
  expect(logged.map((r) => r.entityKey)).toEqual(['c1', ...KEYS]);
  // The long answer's rows (sent as the bytes the log copied from) are logged with the values answered.
  const answered = (await createServer(env.platform, { servingLogRate: 0 }).then(async (app) => {
    const reply = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: KEYS }, service: 'scoring' } });
    await app.close();
    return reply.json<{ rows: Record<string, unknown>[] }>();
  })).rows;
  expect(answered[7]).toMatchObject({ stats__total: 7, stats__tier: 'gold' });
  expect(logged.slice(1).map((r) => r.values)).toEqual(answered.map(({ stats__total, stats__tier }) => ({ stats__total, stats__tier })));
});

test('the same keys are sampled in another process', () => {
  const module = join(import.meta.dirname, '..', 'dist', 'observability', 'serving-log', 'sample-key.js');
  const script = `import { isSampledKey, sampleThreshold } from ${JSON.stringify(module)};
    const keys = JSON.parse(process.argv[1]);
    process.stdout.write(JSON.stringify(keys.filter((k) => isSampledKey(k, sampleThreshold(0.1)))));`;
  const keys = [...KEYS, 'ünïcødé', '2:u13:m45', '9223372036854775807', ''];
  const other = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(keys)], { encoding: 'utf8' })) as string[];
  expect(other).toEqual(keys.filter((k) => referenceSampled(k, 0.1)));
  expect(other.length).toBeGreaterThan(10);
});

test('a torn last line is skipped by readers (JS and DuckDB), and the next append starts on a line of its own', async () => {
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  mkdirSync(dirname(file), { recursive: true });
  const good: ServedRow = { requestId: 'r0', service: 'scoring', entityKey: 'c0', keys: { customer_id: 'c0' }, asOf: new Date(T0).toISOString(), servedAt: T0, values: { stats__total: 0 }, statuses: { stats__total: 'PRESENT' }, views: {} };
  writeFileSync(file, `${JSON.stringify(good)}\n`);
  appendFileSync(file, JSON.stringify({ ...good, requestId: 'torn' }).slice(0, 40));
  expect((await readServingLog(env.platform.dataDir)).map((r) => r.requestId)).toEqual(['r0']);
  const app = await createServer(env.platform, { servingLogRate: 1 });
  await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c5'] }, service: 'scoring' } });
  await app.close();
  const rows = await readServingLog(env.platform.dataDir, { since: T0, until: T0 + 1 });
  expect(rows.map((r) => r.entityKey)).toEqual(['c0', 'c5']);
  const engine = await env.platform.engine();
  const read = await engine.all<{ k: string }>(`SELECT ${servedEntityKeySql} AS k FROM ${servedRowsSql(await servingLogFiles(env.platform.dataDir))} ORDER BY k`);
  expect(read.map((r) => r.k)).toEqual(['c0', 'c5']);
});

test('a torn request line of the current format (its rows in it, values by position, no status letters) is skipped and counted by both readers, wherever it is cut', async () => {
  const file = servingLogFile(env.platform.dataDir, 'scoring', T0);
  const serve = async (keys: string[]) => {
    const app = await createServer(env.platform, { servingLogRate: 1 });
    expect((await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: keys }, service: 'scoring' } })).statusCode).toBe(200);
    await app.close();
  };
  const engine = await env.platform.engine();
  /** What the DuckDB reader reads: each row's entity key, its total and total's status. */
  const sqlRows = async () => (await engine.all<{ k: string; total: string | null; status: string | null }>(`SELECT ${servedEntityKeySql} AS k,
    ${servedValueSql('stats__total')} AS total, ${servedStatusSql('stats__total')} AS status FROM ${servedRowsSql([file])} ORDER BY k`)).map((r) => [r.k, r.total, r.status]);
  const unreadable = async () => {
    let count = 0;
    for await (const batch of servedRowBatches(env.platform.dataDir)) count += batch.unreadable;
    return count;
  };
  await serve(['c0']);
  await serve(['c1', 'c2']);
  const written = readFileSync(file, 'utf8');
  const lines = written.split('\n').filter((l) => l !== '');
  const last = lines.at(-1)!;
  expect(JSON.parse(last)).toMatchObject({ requestId: expect.any(String) as unknown, rows: [['c1', [1, 'gold']], ['c2', [2, 'silver']]] });
  expect(last).not.toContain('"status"');
  const before = written.slice(0, written.length - last.length - 1);
  // Cut in the head, inside the second row's values and just before the line's last brace (the only cut that leaves every value whole):
  // a crash mid-append loses the request's rows, never reads a part of them, and the reader goes on.
  for (const cut of [20, last.lastIndexOf('"silver"') + 3, last.length - 1]) {
    writeFileSync(file, before + last.slice(0, cut));
    expect((await readServingLog(env.platform.dataDir)).map((r) => r.entityKey)).toEqual(['c0']);
    expect(await unreadable()).toBe(1);
    expect(await sqlRows()).toEqual([['c0', '0', 'PRESENT']]);
  }
  // The next append starts on a line of its own: the torn line stays one unreadable line.
  await serve(['c5']);
  expect((await readServingLog(env.platform.dataDir)).map((r) => [r.entityKey, r.values.stats__total, r.statuses.stats__total])).toEqual([['c0', 0, 'PRESENT'], ['c5', 5, 'PRESENT']]);
  expect(await unreadable()).toBe(1);
  expect(await sqlRows()).toEqual([['c0', '0', 'PRESENT'], ['c5', '5', 'PRESENT']]);
});

test('a full buffer drops and counts rows, never blocks a request; close flushes the rest', async () => {
  const metrics = new SluiceMetrics();
  const app = await createServer(env.platform, { servingLogRate: 1, servingLogBuffer: 30, metrics });
  const response = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: KEYS.slice(0, 100) }, service: 'scoring' } });
  expect(response.statusCode).toBe(200);
  const text = await metrics.render();
  expect(text).toContain('sluice_serving_log_dropped_rows_total{service="scoring"} 70');
  await app.close();
  expect(await readServingLog(env.platform.dataDir)).toHaveLength(30);
  expect(await metrics.render()).toContain('sluice_serving_log_rows_total{service="scoring"} 30');
});

test('two servers on one metrics registry share the serving log and drift metrics', async () => {
  const metrics = new SluiceMetrics();
  const a = await createServer(env.platform, { servingLogRate: 1, metrics });
  const b = await createServer(env.platform, { servingLogRate: 1, metrics });
  for (const app of [a, b]) await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c1'] }, service: 'scoring' } });
  await a.close();
  await b.close();
  expect(await metrics.render()).toContain('sluice_serving_log_rows_total{service="scoring"} 2');
});
