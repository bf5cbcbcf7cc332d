import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 3_600_000);
});
afterEach(async () => env.dispose());

const ingest = (name: string, rows: string[]) => {
  writeFileSync(join(env.dir, name), ['customer_id,ts', ...rows].join('\n'));
  return ingestFile(env.platform, env.project, 'txns', join(env.dir, name));
};

test('the server says STALE once newer data is committed (learnt on its poll), and counts it on /health', async () => {
  const app = await createServer(env.platform, { registryRefreshMs: 10 });
  try {
    const ask = async () => (await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: ['c1'] }, features: ['stats:n'] } })).json();
    const never = await ask();
    expect(never).toMatchObject({ rows: [{ stats__n: null }], metadata: [{ status: ['NOT_MATERIALIZED'] }], views: { stats: { status: 'NOT_MATERIALIZED' } }, stale: 0 });

    const first = await ingest('a.csv', ['c1,2024-01-01T00:10:00Z']);
    await materialize(env.platform, env.project);
    expect(await ask()).toMatchObject({ rows: [{ stats__n: 1 }], metadata: [{ status: ['PRESENT'] }], views: { stats: { status: 'FRESH', snapshots: { txns: first.snapshot } } }, stale: 0 });

    await ingest('b.csv', ['c1,2024-01-01T00:20:00Z']);
    // The server learns of the new snapshot on its next poll.
    let answer = await ask();
    for (let i = 0; i < 500 && answer.stale === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      answer = await ask();
    }
    expect(answer).toMatchObject({ rows: [{ stats__n: 1 }], metadata: [{ status: ['STALE'] }], views: { stats: { status: 'STALE', snapshots: { txns: first.snapshot } } }, stale: 1 });
    const health = (await app.inject({ method: 'GET', url: '/health' })).json();
    expect(health.served.stale).toBeGreaterThanOrEqual(1);
    expect(health.served.values).toBeGreaterThan(health.served.stale);
  } finally {
    await app.close();
  }
});
