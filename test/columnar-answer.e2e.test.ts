import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureService, featureView, field, last, max, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { readServingLog } from '../src/observability/serving-log/index.js';
import { materialize } from '../src/processing/materialize.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-03-01T10:00:00Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const txns = batchSource({ name: 'txns', schema: { account_id: 'string', cents: 'int64', amount: 'float64', tier: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: account, source: txns, features: { top: max('cents'), total: sum('amount', { window: '1h' }), tier: field('tier'), at: last('ts') } });
const spec = defineProject({
  name: 'p', entities: [account], sources: [txns], featureViews: [stats],
  featureServices: [featureService({ name: 'scoring', features: [stats] }), featureService({ name: 'logged', features: [stats], log: { sampleRate: 1 } })],
});

let env: Awaited<ReturnType<typeof tempPlatform>>;
let app: Awaited<ReturnType<typeof createServer>>;
beforeAll(async () => {
  env = await tempPlatform(spec, T0);
  writeFileSync(join(env.dir, 't.csv'), [
    'account_id,cents,amount,tier,ts',
    'a1,9223372036854775807,0.1,gold,2024-03-01T09:30:00Z',
    'a1,5,0.2,gold,2024-03-01T09:40:00Z',
    'a2,7,1.5,,2024-02-01T09:00:00Z',
  ].join('\n'));
  await ingestFile(env.platform, env.project, 'txns', join(env.dir, 't.csv'));
  await materialize(env.platform, env.project);
  app = await createServer(env.platform);
});
afterAll(async () => {
  await app?.close();
  await env?.dispose();
});

const post = (url: string, service: string, ids: string[]) => app.inject({ method: 'POST', url, payload: { entities: { account_id: ids }, service } });

describe('POST /v1/features/online?format=columnar', () => {
  test('the same values, statuses and ages as the default answer, one result per feature, feature names once', async () => {
    const ids = ['a2', 'zz', 'a1'];
    const rows = await post('/v1/features/online', 'scoring', ids);
    const columnar = await post('/v1/features/online?format=columnar', 'scoring', ids);
    expect(columnar.statusCode).toBe(200);
    expect(columnar.headers['content-type']).toMatch(/^application\/json/);
    const byRow = rows.json();
    const byColumn = columnar.json();
    expect(byColumn.metadata.feature_names).toEqual(byRow.features);
    expect(byColumn.results).toHaveLength(byRow.features.length);
    byRow.features.forEach((name: string, f: number) => {
      expect(byColumn.results[f]).toEqual({
        values: byRow.rows.map((row: Record<string, unknown>) => row[name]),
        statuses: byRow.metadata.map((m: { status: string[] }) => m.status[f]),
        ageMs: byRow.metadata.map((m: { ageMs: (number | null)[] }) => m.ageMs[f]),
      });
    });
    const { rows: _rows, metadata: _metadata, features: _features, ...rest } = byRow;
    const { metadata: _names, results: _results, ...restColumnar } = byColumn;
    expect(restColumnar).toEqual(rest);
    expect(byColumn.results[byRow.features.indexOf('stats__total')].values).toEqual([null, null, 0.1 + 0.2]);
    expect(byColumn.results[byRow.features.indexOf('stats__tier')].statuses).toEqual(['NULL', 'NOT_FOUND', 'PRESENT']);
  });

  test('an int64 beyond 2^53 keeps all its digits, as in the default answer', async () => {
    const columnar = await post('/v1/features/online?format=columnar', 'scoring', ['a1']);
    expect(columnar.body).toContain('"values":[9223372036854775807]');
  });

  test('the default answer is unchanged: ?format=rows and no format give the same text', async () => {
    const plain = await post('/v1/features/online', 'scoring', ['a1', 'a2']);
    const rows = await post('/v1/features/online?format=rows', 'scoring', ['a1', 'a2']);
    expect(rows.body).toBe(plain.body);
    expect(Object.keys(plain.json())).toEqual(['asOf', 'features', 'rows', 'metadata', 'views', 'stale']);
  });

  test('an unknown format is a 400 naming the formats, before any value is read', async () => {
    const res = await post('/v1/features/online?format=arrow', 'scoring', ['a1']);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BAD_REQUEST');
    expect(res.json().error.message).toMatch(/unknown answer format "arrow"; use \?format=columnar .* or \?format=rows/);
  });

  test('with the serving log on, the columnar answer is served and its rows are logged as with the default one', async () => {
    const res = await post('/v1/features/online?format=columnar', 'logged', ['a1', 'a2']);
    expect(res.statusCode).toBe(200);
    expect(res.json().metadata.feature_names).toContain('stats__tier');
    await app.close();
    app = await createServer(env.platform);
    const logged = await readServingLog(env.platform.dataDir, { service: 'logged' });
    expect(logged.map((r) => r.entityKey).sort()).toEqual(['a1', 'a2']);
    expect(logged.find((r) => r.entityKey === 'a1')).toMatchObject({ values: { stats__tier: 'gold' }, statuses: { stats__tier: 'PRESENT' } });
  });
});
