import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureView, last } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { sourceBatchDrift } from '../src/observability/drift/source-batch-drift.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'txn_id' });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'v', entity: customer, source: txns, features: { a: last('amount') } })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, Date.parse('2024-01-01T00:00:00Z'));
});
afterEach(async () => env.dispose());

async function ingest(name: string, n: number, amount: (i: number) => number) {
  writeFileSync(join(env.dir, name), ['txn_id,customer_id,amount,ts', ...Array.from({ length: n }, (_, i) => `${name}-${i},c${i},${amount(i)},2024-01-01T00:00:00Z`)].join('\n'));
  return ingestFile(env.platform, env.project, 'txns', join(env.dir, name));
}

test('identifiers (event ids, entity keys) are not scored; a small batch is skipped with the reason; a batch is compared once', async () => {
  await ingest('a.csv', 100, (i) => i);
  const second = await ingest('b.csv', 100, (i) => i);
  const latest = await env.platform.metadata.drift.latest({ subject: 'source:txns' });
  expect(latest.map((r) => [r.feature, r.severity])).toEqual([['amount', 'ok']]);
  expect(await sourceBatchDrift(env.platform, env.project, 'txns', second.snapshot)).toBeUndefined();
  await ingest('c.csv', 10, (i) => i);
  const small = (await env.platform.metadata.drift.history('source:txns', 10)).length;
  expect(small).toBe(1);
});

test('a batch that cannot be profiled does not fail its ingest: it is a job_failed condition, cleared by the next batch', async () => {
  await ingest('a.csv', 100, (i) => i);
  const b = await ingest('b.csv', 100, (i) => i);
  // The batch's lake file cannot be read while it is profiled.
  const snapshot = (await env.platform.metadata.snapshot(b.snapshot))!;
  await env.platform.metadata.drift.saveProfile('batch:txns', { snapshot: 'earlier', profile: { rows: 0, columns: {} } }, 0);
  const file = env.platform.lake.resolve(snapshot.files.at(-1)!);
  renameSync(file, `${file}.away`);
  expect(await sourceBatchDrift(env.platform, env.project, 'txns', b.snapshot)).toBeUndefined();
  renameSync(`${file}.away`, file);
  const [failed] = await env.platform.metadata.health.list({ firing: true });
  expect(failed).toMatchObject({ kind: 'job_failed', subject: 'job:drift:txns', severity: 'warn' });
  expect(failed!.message).toContain(`the drift of batch ${b.snapshot} of source "txns" could not be computed`);
  await ingest('c.csv', 100, (i) => i * 10);
  expect(await env.platform.metadata.health.list({ firing: true })).toEqual([]);
});
