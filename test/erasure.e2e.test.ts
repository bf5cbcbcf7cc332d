import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView, last, notNull, streamSource, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { startStreamRuntime } from '../src/streaming/stream-runtime.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { openPlatform } from '../src/platform.js';
import type { Principal } from '../src/compliance/principal.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';
import { scan } from './support/byte-scan.js';

// Distinctive, with a character outside ASCII so UTF-16 and JSON escapes differ from UTF-8.
const KEY = 'cust-ZQX-4242-Zoë';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', checks: [notNull('amount', { severity: 'error' })] });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', allowedLateness: '30d', eventId: 'payment_id' });
const spend = featureView({ name: 'spend', entity: customer, source: txns, features: { n: count(), total: sum('amount'), last_txn: last('txn_id') } });
const paid = featureView({ name: 'paid', entity: customer, source: payments, features: { n: count(), total: sum('amount') } });
const spec = defineProject({ name: 'erasure', entities: [customer], sources: [txns, payments], featureViews: [spend, paid], featureServices: [featureService({ name: 'svc', features: [spend, paid] })] });

const NOW = Date.parse('2024-03-01T00:00:00Z');
const operator: Principal = { name: 'cli:dpo', roles: ['local-operator'], origin: 'local' };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});


test('after erasure, no file under the data directory holds the key in any encoding, and every way in refuses it', async () => {
  const env = await tempPlatform(spec, NOW);
  cleanup.push(env.dispose);
  const { platform, project, dir } = env;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  // Two snapshots with the subject (an old one stays in history), a dead letter naming it, other customers.
  await ingestFile(platform, project, 'txns', file('t1.csv', `txn_id,customer_id,amount,ts\nt1,c1,10,2024-02-01T00:00:00Z\nt2,${KEY},99.5,2024-02-01T00:00:00Z\nt3,c2,1,2024-02-02T00:00:00Z\n`));
  await ingestFile(platform, project, 'txns', file('t2.csv', `txn_id,customer_id,amount,ts\nt4,${KEY},5,2024-02-03T00:00:00Z\nt5,${KEY},oops,2024-02-03T00:00:00Z\nt6,c1,2,2024-02-04T00:00:00Z\n`));
  await materialize(platform, project);
  const runtime = await startStreamRuntime(platform, { project: () => project, commitIntervalMs: 3_600_000 });
  const event = (id: string, key: string, amount: unknown = 1) => JSON.stringify({ payment_id: id, customer_id: key, amount, ts: '2024-02-28T00:00:00Z' });
  // Event ids that embed the key: the log remembers them for deduplication, also after its entry is trimmed.
  await runtime.processor.append('payments', { texts: [event(`p1-${KEY}`, KEY), event('p2', 'c1'), event('p3', KEY, 'bad')] }, 'push');
  await runtime.commitNow();
  const log = await platform.log();
  expect(await log.trim('payments', log.head('payments'), NOW)).toBe(1);
  await runtime.processor.append('payments', { texts: [event(`p4-${KEY}`, KEY)] }, 'push');
  // A training dataset Sluice built (and knows of), under the data directory so the scan reads it.
  mkdirSync(join(platform.dataDir, 'datasets'), { recursive: true });
  await buildDataset(platform, project, { spine: file('spine.csv', `customer_id,ts\nc1,2024-03-01T00:00:00Z\n${KEY},2024-03-01T00:00:00Z\n`), service: 'svc', out: join(platform.dataDir, 'datasets', 'train.parquet') });
  // A batch held in quarantine (an empty amount fails an error check) holds the subject too.
  await expect(ingestFile(platform, project, 'txns', file('held.csv', `txn_id,customer_id,amount,ts\nt8,${KEY},,2024-02-06T00:00:00Z\nt9,c2,3,2024-02-06T00:00:00Z\n`))).rejects.toThrow('quarantined as 1');
  // Served with the serving log on (every request logged).
  const app = await createServer(platform, { servingLogRate: 1 });
  const served = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { customer_id: [KEY, 'c1'] }, service: 'svc' } });
  expect(served.statusCode).toBe(200);
  await app.close();
  const found = await scan(platform.dataDir, KEY);
  expect(found.some((f) => f.startsWith('serving-log'))).toBe(true);
  expect(found.some((f) => f.startsWith('quarantine'))).toBe(true);

  const { certificate, request } = await eraseSubject(platform, project, { entity: 'customer', key: [KEY], reason: 'customer asked', principal: operator });
  expect(request.status).toBe('completed');
  expect(certificate).toMatchObject({ entity: 'customer', sources: ['txns', 'payments'], withinDeadline: true, metadataExpunged: true });
  expect(certificate.rows).toBeGreaterThan(0);
  const stores: Record<string, number> = {};
  for (const s of certificate.stores) stores[s.store] = (stores[s.store] ?? 0) + s.rows;
  expect(stores).toMatchObject({ 'quarantine:txns': 1, 'serving-log': 1, 'check-samples:txns': expect.any(Number) as number });
  expect(certificate.scrubPending).toEqual([]);
  expect(JSON.stringify(certificate)).not.toContain(KEY);
  const completed = (await platform.metadata.audit.list()).filter((r) => r.action === 'erase.completed');
  expect(completed.map((r) => r.outcome)).toEqual(['succeeded']);
  expect(JSON.stringify(await platform.metadata.audit.list())).not.toContain(KEY.slice(0, 12));
  await runtime.close();
  await platform.close();

  expect(await scan(platform.dataDir, KEY)).toEqual([]);

  // Blocked from coming back: by file, by push, by stream.
  const again = openPlatform({ projectDir: dir, now: () => NOW, threads: 1, projectSpec: spec });
  cleanup.push(() => again.close());
  const byFile = await ingestFile(again, project, 'txns', file('t3.csv', `txn_id,customer_id,amount,ts\nt7,${KEY},1,2024-02-05T00:00:00Z\n`));
  expect(byFile).toMatchObject({ accepted: 0, rejected: 1 });
  expect((await again.metadata.listDeadLetters({ source: 'txns' })).map((l) => l.reason)).toEqual(['erased']);
  const live = await startStreamRuntime(again, { project: () => project, commitIntervalMs: 3_600_000 });
  try {
    expect((await live.processor.append('payments', { body: `{"events": [${event('p5', KEY)}]}` }, 'push')).rejected).toEqual([{ index: 0, reason: 'erased' }]);
    expect((await live.processor.append('payments', { texts: [event('p6', KEY)] }, 'nats')).rejected).toEqual([{ index: 0, reason: 'erased' }]);
  } finally {
    await live.close();
  }
});
