import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, sqlCheck } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { healthStatus } from '../src/observability/status/index.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { tempPlatform } from './support/temp-platform.js';

// A view's blocking (`error`) checks judge the table materialize writes. An ingest that applies
// its rows online must not put values those checks forbid into serving (review rev12 finding 1).
const T0 = Date.parse('2024-03-02T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const pay = batchSource({ name: 'pay', schema: { txn_id: 'string', customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const project = (severity: 'warn' | 'error') => defineProject({
  name: 'z', entities: [customer], sources: [pay],
  featureViews: [featureView({ name: 'v', entity: customer, source: pay, features: { n: count() }, checks: [sqlCheck('n_small', 'n < 3', { severity })] })],
});

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function twoBatches(severity: 'warn' | 'error') {
  const t = await tempPlatform(project(severity), T0);
  cleanup.push(t.dispose);
  const file = (name: string, rows: string[]) => {
    writeFileSync(join(t.dir, name), ['txn_id,customer_id,ts', ...rows].join('\n') + '\n');
    return join(t.dir, name);
  };
  await ingestFile(t.platform, t.project, 'pay', file('a.csv', ['a1,c1,2024-03-01T05:00:00Z', 'a2,c1,2024-03-01T06:00:00Z']));
  await materialize(t.platform, t.project);
  const second = await ingestFile(t.platform, t.project, 'pay', file('b.csv', ['a3,c1,2024-03-01T07:00:00Z', 'a4,c1,2024-03-01T08:00:00Z']), { online: true });
  const served = async () => getOnlineFeatures(t.project, await t.platform.online(), { entities: { customer_id: ['c1'] }, features: ['v:n'] }, t.clock.now, await latestSnapshots(t.platform.metadata, t.project));
  return { t, second, served };
}

test('an ingest does not apply its rows online to a view with an error check: the previous values keep serving, marked STALE, until a materialize passes the checks', async () => {
  const { t, second, served } = await twoBatches('error');
  expect(second.online?.applied).toEqual([]);
  expect(second.online?.skipped).toEqual([{ view: 'v', reason: expect.stringContaining('error check "n_small"') }]);
  const before = await served();
  expect(before.rows[0]!.v__n).toBe(2);
  expect(before.metadata[0]!.status[0]).toBe('STALE');
  // The view is behind its source: status says so.
  expect((await healthStatus(t.platform, t.project)).freshness.find((f) => f.name === 'v')).toMatchObject({ stale: true });
  // Materialize runs the checks: 4 >= 3 blocks it; the table it would replace still serves 2.
  await expect(materialize(t.platform, t.project)).rejects.toThrow(/n_small/);
  expect((await served()).rows[0]!.v__n).toBe(2);
  const status = await healthStatus(t.platform, t.project);
  expect(status.conditions).toContainEqual(expect.objectContaining({ kind: 'check_failed', severity: 'error' }));
  expect(status.healthy).toBe(false);
});

test('a view whose checks only warn still takes an ingest online', async () => {
  const { second, served } = await twoBatches('warn');
  expect(second.online).toEqual({ applied: ['v'], skipped: [] });
  expect((await served()).rows[0]!.v__n).toBe(4);
});
