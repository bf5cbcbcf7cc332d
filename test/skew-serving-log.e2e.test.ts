import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView, last, max, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { runSkewJob } from '../src/observability/skew/index.js';
import { materialize } from '../src/processing/materialize.js';
import { createServer, type ServerOptions } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';

/** The server's serving log option: sample every key. */
const LOG_EVERY_KEY: ServerOptions = { servingLogRate: 1 };

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', qty: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({
  name: 'stats', entity: customer, source: txns,
  features: { n_1h: count({ window: '1h' }), total_24h: sum('amount', { window: '24h' }), last_amount: last('amount'), qty_max: max('qty') },
});
const spec = defineProject({ name: 'skewlog', entities: [customer], sources: [txns], featureViews: [stats], featureServices: [featureService({ name: 'fraud', features: [stats] })] });
const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;
const CUSTOMERS = Array.from({ length: 30 }, (_, i) => `c${i}`);

describe('the skew job over the serving log the server writes', () => {
  let env: Awaited<ReturnType<typeof tempPlatform>>;
  /** Serves every customer at each time through the HTTP API with the log on; closing the server flushes the log. */
  const serve = async (times: readonly number[]) => {
    const app = await createServer(env.platform, LOG_EVERY_KEY);
    try {
      for (const t of times) {
        env.clock.now = t;
        const response = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { service: 'fraud', entities: { customer_id: [...CUSTOMERS, 'nobody'] } } });
        expect(response.statusCode).toBe(200);
      }
    } finally {
      await app.close();
    }
  };

  beforeAll(async () => {
    env = await tempPlatform(spec, T0 + 48 * HOUR, { threads: 2 });
    const lines = ['customer_id,amount,qty,ts'];
    for (let i = 0; i < 1500; i++) {
      lines.push([CUSTOMERS[(i * 7) % 25], ['0.1', '0.2', '1e16', '', '2.5'][i % 5], ['1', '9007199254740993', '', '-4'][i % 4], new Date(T0 + ((i * 7919) % (48 * 60)) * 60_000).toISOString()].join(','));
    }
    writeFileSync(join(env.dir, 'txns.csv'), `${lines.join('\n')}\n`);
    await ingestFile(env.platform, env.project, 'txns', join(env.dir, 'txns.csv'));
    await materialize(env.platform, env.project);
  });
  afterAll(async () => env?.dispose());

  test('0 mismatches on a healthy pipeline, then a corrupted online value caught with its entity', async () => {
    const start = T0 + 48 * HOUR;
    await serve([start, start + 10 * 60_000, start + HOUR, start + 7 * HOUR]);
    const healthy = await runSkewJob(env.platform, env.project, { service: 'fraud', until: start + 8 * HOUR });
    expect(healthy.servedRows).toBe(4 * 31);
    expect(healthy.features.map((f) => [f.feature, f.compared, f.mismatches])).toEqual(Object.keys(stats.features).sort().map((f) => [`stats__${f}`, 4 * 31, 0]));

    const store = await env.platform.online();
    const info = (await store.viewInfo('stats'))!;
    const { states } = await store.read('stats', ['c1']);
    await store.update('stats', info.generation, ['c2'], () => states[0]);
    await serve([start + 9 * HOUR]);
    const skewed = await runSkewJob(env.platform, env.project, { service: 'fraud', since: start + 9 * HOUR, until: start + 10 * HOUR });
    const amount = skewed.features.find((f) => f.feature === 'stats__last_amount')!;
    expect(amount).toMatchObject({ compared: 31, mismatches: 1, examples: [{ entityKey: 'c2', keys: { customer_id: 'c2' } }] });
    expect(skewed.unhealthy).toContain('stats__last_amount');
  });
});
