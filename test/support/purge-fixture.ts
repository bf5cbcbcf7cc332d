import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, last, sqlTransform, streamSource } from '../../src/definitions/index.js';
import { ingestFile } from '../../src/ingest/ingest-file.js';
import { materialize } from '../../src/processing/materialize.js';
import { runTransform } from '../../src/processing/transforms/run-transform.js';
import { buildDataset } from '../../src/serving/datasets/build-dataset.js';
import { literalList } from '../../src/storage/engine/sql-engine.js';
import type { Principal } from '../../src/compliance/principal.js';
import type { SluiceContext } from '../../src/context.js';
import { tempPlatform } from './temp-platform.js';

/** The purge tests' project: `txns` (customer and merchant keys), its transform `big_txns`, a stream `clicks`, views of both entities. */
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const merchant = entity({ name: 'merchant', joinKey: 'merchant' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', merchant: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const big = sqlTransform({
  name: 'big_txns', inputs: [txns], sql: 'SELECT customer_id, amount, ts FROM txns WHERE amount >= 10',
  timestamp: 'ts', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' },
});
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const lastBuyer = featureView({ name: 'last_buyer', entity: merchant, source: txns, features: { buyer: last('customer_id'), n: count() } });
const clicks = streamSource({ name: 'clicks', schema: { customer_id: 'string', page: 'string', ts: 'timestamp' }, timestamp: 'ts' });
export const purgeSpec = defineProject({ name: 'p', entities: [customer, merchant], sources: [txns, clicks], transforms: [big], featureViews: [stats, lastBuyer] });
export const admin: Principal = { name: 'cli:test', roles: ['admin'], origin: 'local' };
export const NOW = Date.parse('2024-03-01T00:00:00Z');

/**
 * A platform over `purgeSpec` with c42 in three snapshots of `txns` (one row dead-lettered),
 * `big_txns` run, both views materialized and a dataset built; `dispose` is pushed on `cleanup`.
 */
export async function purgeFixture(cleanup: Array<() => Promise<void>>) {
  const t = await tempPlatform(purgeSpec, NOW);
  cleanup.push(t.dispose);
  const files = [
    'customer_id,merchant,amount,ts\nc42,m1,50,2024-01-01T00:00:00Z\nc1,m1,5,2024-01-01T01:00:00Z\nc9,m3,1,2024-01-02T00:00:00Z\n',
    'customer_id,merchant,amount,ts\nc2,m2,20,2024-02-10T00:00:00Z\nc42,m2,12,2024-02-11T00:00:00Z\nc1,m1,,bad-time\n',
    'customer_id,merchant,amount,ts\nc1,m1,30,2024-02-20T00:00:00Z\nc2,m2,1,2024-02-21T00:00:00Z\n',
  ];
  for (const [i, text] of files.entries()) {
    writeFileSync(join(t.dir, `in${i}.csv`), text);
    await ingestFile(t.platform, t.project, 'txns', join(t.dir, `in${i}.csv`));
  }
  writeFileSync(join(t.dir, 'bad.csv'), 'customer_id,merchant,amount,ts\nc42,m9,x,2024-02-01T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'bad.csv'));
  await runTransform(t.platform, t.project, 'big_txns');
  await materialize(t.platform, t.project);
  writeFileSync(join(t.dir, 'spine.csv'), 'customer_id,ts,label\nc42,2024-02-15T00:00:00Z,1\nc1,2024-02-25T00:00:00Z,0\nc2,2024-01-15T00:00:00Z,0\n');
  await buildDataset(t.platform, t.project, { spine: join(t.dir, 'spine.csv'), features: ['stats:n'], out: join(t.dir, 'out', 'train.csv') });
  return t;
}

/** Every row every snapshot of `source` lists, read back from the files (`<customer>@<day>`), checking each snapshot's row count. */
export async function rowsOf(ctx: SluiceContext, source: string): Promise<Map<string, string[]>> {
  const engine = await ctx.engine();
  const out = new Map<string, string[]>();
  for (const s of await ctx.metadata.listSnapshots({ source })) {
    const paths = s.files.map((f) => ctx.lake.resolve(f));
    const rows = paths.length === 0 ? [] : await engine.all<{ c: string; ts: number }>(`SELECT customer_id AS c, _ts AS ts FROM read_parquet(${literalList(paths)}) ORDER BY _seq`);
    out.set(s.id, rows.map((r) => `${r.c}@${new Date(Number(r.ts)).toISOString().slice(0, 10)}`));
    expect(s.rowCount).toBe(rows.length);
  }
  return out;
}
