import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, notNull } from '../src/definitions/index.js';
import { backfill } from '../src/orchestration/backfill.js';
import { runJob } from '../src/orchestration/run-job.js';
import { releaseBatch } from '../src/quality/quarantine.js';
import { tempPlatform } from './support/temp-platform.js';

// An ingest job meeting a quarantined file (review rev4 findings 6 and 7).
const T0 = Date.parse('2026-01-10T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = batchSource({
  name: 'payments', timestamp: 'ts', path: 'data/*.csv',
  schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' },
  checks: [notNull('amount', { severity: 'error' })],
});
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count() } });
const spec = defineProject({ name: 'q', entities: [customer], sources: [payments], featureViews: [stats] });

let env: Awaited<ReturnType<typeof tempPlatform>> | undefined;
afterEach(async () => {
  await env?.dispose();
  env = undefined;
});

/** A platform whose ingest job has held its one file in quarantine as batch 1; its job context. */
async function quarantinedOnce() {
  const t = await tempPlatform(spec, T0);
  env = t;
  mkdirSync(join(t.dir, 'data'));
  writeFileSync(join(t.dir, 'data', '2026-01-09.csv'), 'txn_id,customer_id,amount,ts\nt1,c1,,2026-01-01T00:00:00Z\n');
  const jc = { ...t.platform, projectDir: t.dir };
  await expect(runJob(jc, t.project, 'ingest:payments')).rejects.toThrow(/quarantined as 1/);
  return { jc, t };
}

describe('an ingest job and a quarantined file', () => {
  test('the held content is refused with a fix that exists, not retried by a backfill; a release ends the job condition that named it', async () => {
    const { jc, t } = await quarantinedOnce();
    // The same content again: refused, naming the command that checks it again.
    await expect(runJob(jc, t.project, 'ingest:payments')).rejects.toThrow(/held in quarantine as batch 1 .*"sluice ingest payments .*2026-01-09\.csv --force" checks it again/);
    const result = await backfill(jc, t.project, 'ingest:payments', { from: T0 - 86_400_000, to: T0, partitionMs: 86_400_000, policy: { retries: 2, timeoutMs: 60_000, backoffBaseMs: 1, backoffMaxMs: 1 } });
    expect(result.partitions).toMatchObject([{ status: 'failed', attempts: 1 }]);
    const firing = async () => (await t.platform.metadata.health.list({ firing: true })).filter((c) => c.subject === 'job:ingest:payments');
    expect((await firing())[0]!.message).toMatch(/held in quarantine as batch 1/);
    await releaseBatch(t.platform, 1, 'ana');
    expect(await firing()).toEqual([]);
    const ended = (await t.platform.metadata.health.list({ firing: false })).find((c) => c.subject === 'job:ingest:payments')!;
    expect(ended.message).toMatch(/quarantined batch 1 was released by ana/);
  });

  test('a job_failed condition written before it carried details.quarantineId (its error names the batch) is ended by the release too; one naming another batch stays', async () => {
    const { t } = await quarantinedOnce();
    const health = t.platform.metadata.health;
    // As an older build wrote it: no quarantineId in its details.
    const old = { runId: 'r-old', error: '"payments": error check "amount_not_null" (amount is not null: 1 of 1 rows fail) failed; the batch (1 rows of data/2026-01-09.csv) is quarantined as 1, not committed: inspect it with "sluice quarantine list"' };
    await health.update('job_failed', 'job:ingest:payments', () => ({ firing: true, severity: 'error', message: `job ingest:payments failed (run r-old): ${old.error}`, details: { ...old } }), t.platform.now());
    await health.report({ kind: 'job_failed', subject: 'job:ingest:other', firing: true, severity: 'error', message: 'job ingest:other failed (run r2): the batch is quarantined as 12, not committed', details: { runId: 'r2', error: 'the batch is quarantined as 12, not committed' } }, t.platform.now());
    await releaseBatch(t.platform, 1, 'ana');
    const firing = (await health.list({ kind: 'job_failed', firing: true })).map((c) => c.subject);
    expect(firing).toEqual(['job:ingest:other']);
    const ended = (await health.list({ firing: false })).find((c) => c.subject === 'job:ingest:payments')!;
    expect(ended).toMatchObject({ details: { quarantineId: 1, resolution: 'released' } });
  });
});
