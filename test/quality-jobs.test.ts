import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureView, notNull, range, rowCount, sqlTransform, sum, count } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { releaseBatch } from '../src/quality/quarantine.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-02T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const invoices = batchSource({ name: 'invoices', schema: { invoice_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const totals = sqlTransform({
  name: 'totals', inputs: [invoices], sql: 'SELECT account_id, sum(amount) AS billed, max(ts) AS ts FROM invoices GROUP BY account_id',
  timestamp: 'ts', schema: { account_id: 'string', billed: 'float64', ts: 'timestamp' },
  checks: [range('billed', { min: 0, severity: 'error' }), rowCount({ min: 1 })],
});
const billing = featureView({
  name: 'billing', entity: account, source: invoices, features: { total: sum('amount'), n: count() },
  checks: [range('total', { max: 1000, severity: 'error' }), notNull('account_id')],
});
const spec = defineProject({ name: 'q', entities: [account], sources: [invoices], transforms: [totals], featureViews: [billing] });

let env: Awaited<ReturnType<typeof tempPlatform>> | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

function csv(name: string, rows: string[]): string {
  const path = join(env!.dir, name);
  writeFileSync(path, `invoice_id,account_id,amount,ts\n${rows.join('\n')}\n`);
  return path;
}

describe('checks on jobs downstream of ingest', () => {
  test('a transform whose result fails an error check commits nothing; its result is quarantined and a release commits it once', async () => {
    env = await tempPlatform(spec, T0);
    await ingestFile(env.platform, env.project, 'invoices', csv('a.csv', ['i1,a1,10,2024-01-01T10:00:00Z', 'i2,a2,-30,2024-01-01T11:00:00Z']));
    await expect(runTransform(env.platform, env.project, 'totals')).rejects.toThrow(/^"totals": error check "billed_range" \(billed >= 0: 1 of 2 rows fail\) failed; the batch \(2 rows of the run of transform "totals" over invoices=.*\) is quarantined as 1/);
    expect(await env.platform.metadata.latestSnapshot('totals')).toBeUndefined();
    expect((await env.platform.metadata.listRuns(1))[0]).toMatchObject({ job: 'transform', status: 'failed' });
    const released = await releaseBatch(env.platform, 1, 'ana');
    expect(released).toMatchObject({ committed: true, snapshot: { rowCount: 2 } });
    expect((await env.platform.metadata.snapshotLineage(released.snapshot.id))?.inputs).toEqual({ invoices: (await env.platform.metadata.latestSnapshot('invoices'))!.id });
    expect(await releaseBatch(env.platform, 1, 'ana')).toMatchObject({ committed: false, snapshot: { id: released.snapshot.id } });
    expect(await env.platform.metadata.listSnapshots({ source: 'totals' })).toHaveLength(1);
    // With the inputs' snapshots unchanged, the table is up to date: the next run does nothing.
    expect(await runTransform(env.platform, env.project, 'totals')).toMatchObject({ skipped: true, snapshot: released.snapshot.id });
  });

  test('a feature view whose rows fail an error check at materialize keeps its old online table serving', async () => {
    env = await tempPlatform(spec, T0);
    await ingestFile(env.platform, env.project, 'invoices', csv('a.csv', ['i1,a1,10,2024-01-01T10:00:00Z', 'i2,a2,30,2024-01-01T11:00:00Z']));
    await materialize(env.platform, env.project);
    const served = async () => (await getOnlineFeatures(env!.project, await env!.platform.online(), { entities: { account_id: ['a1', 'a2'] }, features: ['billing:total'] }, env!.clock.now,
      await latestSnapshots(env!.platform.metadata, env!.project))).rows.map((r) => r.billing__total);
    const before = await served();
    await ingestFile(env.platform, env.project, 'invoices', csv('b.csv', ['i3,a1,5000,2024-01-01T12:00:00Z']));
    env.clock.now += 1000;
    await expect(materialize(env.platform, env.project)).rejects.toThrow('"billing": error check "total_range" (total <= 1000: 1 of 2 rows fail) failed; its online table was not replaced (the previous one keeps serving)');
    expect(before).toEqual([10, 30]);
    expect(await served()).toEqual(before);
    const failing = await env.platform.metadata.quality.latestResults({ failed: true });
    expect(failing).toMatchObject([{ dataset: 'billing', check: 'total_range', samples: ['5010.0'] }]);
    // The blocked materialize run failed too: orchestration reports it as job_failed on its job.
    expect((await env.platform.metadata.health.list({ firing: true })).map((c) => c.subject).sort()).toEqual(['check:billing/total_range', 'job:materialize:billing']);
  });
});
