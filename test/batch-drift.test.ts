import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { DEFAULT_DRIFT, batchSource, defineProject, entity, featureView, last } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { batchSkips, sourceBatchDrift } from '../src/observability/drift/source-batch-drift.js';
import { compareProfiles } from '../src/observability/drift/report-drift.js';
import type { Profile } from '../src/observability/drift/column-profile.js';
import { sluice } from './support/cli.js';
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
  // Batches of 1000: enough values to tell drift from chance over decile bins (990 each side, see chanceScore).
  await ingest('a.csv', 1000, (i) => i);
  const second = await ingest('b.csv', 1000, (i) => i);
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

test('a text column with every value distinct in the reference (an id, fewer than 100 per batch) is skipped as identifier-like, not scored at PSI ~10', async () => {
  const pay = batchSource({ name: 'pay', schema: { id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
  const own = await tempPlatform(defineProject({ name: 'q', entities: [customer], sources: [pay], featureViews: [featureView({ name: 'w', entity: customer, source: pay, features: { a: last('amount') } })] }), Date.parse('2024-01-01T00:00:00Z'));
  try {
    const write = (name: string) => {
      writeFileSync(join(own.dir, name), ['id,customer_id,amount,ts', ...Array.from({ length: 60 }, (_, i) => `${name}-${i},c${i % 5},${i},2024-01-01T00:00:00Z`)].join('\n'));
      return ingestFile(own.platform, own.project, 'pay', join(own.dir, name));
    };
    await write('a.csv');
    await write('b.csv');
    // Neither the ids nor, at 60 rows, the amounts (too few to tell drift from chance) are scored.
    const latest = await own.platform.metadata.drift.latest({ subject: 'source:pay' });
    expect(latest.map((r) => r.feature)).toEqual([]);
    expect(await own.platform.metadata.health.list({ firing: true })).toEqual([]);
    const ids = (prefix: string): Profile => ({ rows: 60, columns: { id: { kind: 'categorical', count: 60, nulls: 0, other: 0, top: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`${prefix}${i}`, 1])) } } });
    const { results, skipped } = compareProfiles('source:pay', ids('a'), ids('b'), () => DEFAULT_DRIFT, 0);
    expect(results).toEqual([]);
    expect(skipped).toEqual([{ feature: 'id', reason: expect.stringContaining('identifier-like') }]);
  } finally {
    await own.dispose();
  }
});

// Review rev8: after a batch whose column was skipped, `sluice drift` showed the previous batch's score as the latest, and the skip was kept nowhere.
test('a column the newest batch skipped is listed as skipped, with the reason and the batch, in place of an older batch\'s score', async () => {
  await ingest('a.csv', 1000, (i) => i);
  await ingest('b.csv', 1000, (i) => i);
  expect((await env.platform.metadata.drift.latest({ subject: 'source:txns' })).map((r) => [r.feature, r.severity])).toEqual([['amount', 'ok']]);
  const small = await ingest('c.csv', 50, (i) => i);
  const skips = await batchSkips(env.platform.metadata.drift, ['txns']);
  expect(skips).toEqual([{ subject: 'source:txns', feature: 'amount', snapshot: small.snapshot, reason: expect.stringMatching(/^too few values to tell drift from chance/), at: expect.any(Number) }]);
  const shown = sluice(env.dir, 'drift', '--json');
  expect(shown.code).toBe(0);
  const json = shown.json<{ results: { subject: string; feature: string }[]; skipped: { subject: string; feature: string; snapshot: string }[] }>();
  expect(json.results).toEqual([]);
  expect(json.skipped.map((s) => [s.subject, s.feature, s.snapshot])).toEqual([['source:txns', 'amount', small.snapshot]]);
  const text = sluice(env.dir, 'drift');
  expect(text.stdout).toContain(`skipped source:txns amount (batch ${small.snapshot}): too few values to tell drift from chance`);
});
