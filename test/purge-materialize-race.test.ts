import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, last } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { purgeRows } from '../src/compliance/purge/index.js';
import type { Principal } from '../src/compliance/principal.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { literalList } from '../src/storage/engine/sql-engine.js';
import { tempPlatform } from './support/temp-platform.js';

// A materialize that reads the lake before a purge and writes its online table after it: driven
// step by step through the test-pause points (no sleeps), in one process (leases are per holder).
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const merchant = entity({ name: 'merchant', joinKey: 'merchant' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', merchant: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const lastBuyer = featureView({ name: 'last_buyer', entity: merchant, source: txns, features: { buyer: last('customer_id'), n: count() } });
const spec = defineProject({ name: 'p', entities: [customer, merchant], sources: [txns], featureViews: [stats, lastBuyer] });
const admin: Principal = { name: 'cli:test', roles: ['admin'], origin: 'local' };
const NOW = Date.parse('2024-03-01T00:00:00Z');

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(materializeFirst: boolean) {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  writeFileSync(join(t.dir, 'a.csv'), 'customer_id,merchant,amount,ts\nc42,m1,50,2024-01-01T00:00:00Z\nc1,m1,5,2024-01-01T01:00:00Z\nc2,m2,1,2024-01-02T00:00:00Z\n');
  writeFileSync(join(t.dir, 'b.csv'), 'customer_id,merchant,amount,ts\nc42,m2,12,2024-02-11T00:00:00Z\nc1,m1,30,2024-02-20T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'a.csv'));
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'b.csv'));
  if (materializeFirst) await materialize(t.platform, t.project);
  return t;
}

/**
 * Pauses the first materialize of `view` right after it read the lake's snapshot, starts the
 * purge of c42 there, and lets the materialize go on once the purge waits for the view's lease
 * (or, if the purge never waits for it, once the purge is done).
 */
function purgeDuringMaterialize(t: Awaited<ReturnType<typeof setup>>, view: string) {
  let purge: ReturnType<typeof purgeRows> | undefined;
  let fired = false;
  const waiting = new Promise<void>((resolve) => cleanup.push(onTestPause(`lease.wait:materialize:${view}`, resolve)));
  cleanup.push(onTestPause('materialize.snapshot-read', async () => {
    if (fired) return;
    fired = true;
    purge = purgeRows(t.platform, t.project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin });
    await Promise.race([waiting, purge.then(() => undefined, () => undefined)]);
  }));
  return { purge: () => purge! };
}

async function lakeKeys(t: Awaited<ReturnType<typeof setup>>): Promise<string[]> {
  const snapshot = (await t.platform.metadata.latestSnapshot('txns'))!;
  const engine = await t.platform.engine();
  const rows = await engine.all<{ c: string }>(`SELECT customer_id AS c FROM read_parquet(${literalList(snapshot.files.map((f) => t.platform.lake.resolve(f)))}) ORDER BY 1`);
  return rows.map((r) => r.c);
}

test('a materialize that read the lake before a purge neither fails nor brings the removed key back: the purge waits for it, then removes the key', async () => {
  const t = await setup(true);
  const race = purgeDuringMaterialize(t, 'stats');
  const materialized = await materialize(t.platform, t.project, { views: ['stats'] });
  expect(materialized.views.map((v) => v.view)).toEqual(['stats']);
  const report = await race.purge();
  expect(report.stores.find((s) => s.store === 'lake:txns')?.rows).toBe(2);
  const online = await t.platform.online();
  expect((await online.read('stats', ['c42', 'c1', 'c2'])).states.map((s) => s !== undefined)).toEqual([false, true, true]);
  expect(await lakeKeys(t)).toEqual(['c1', 'c1', 'c2']);
  // A later materialize changes nothing: online already answers from the purged lake.
  await materialize(t.platform, t.project);
  expect((await online.read('stats', ['c42', 'c1', 'c2'])).states.map((s) => s !== undefined)).toEqual([false, true, true]);
  const buyers = (await online.read('last_buyer', ['m1', 'm2'])).states;
  expect(buyers.map((s) => s !== undefined)).toEqual([true, true]);
  expect(JSON.stringify(buyers)).not.toContain('c42');
});

test('the first materialize of a view, overlapping a purge, does not leave the removed key online', async () => {
  const t = await setup(false);
  const race = purgeDuringMaterialize(t, 'stats');
  await materialize(t.platform, t.project, { views: ['stats'] });
  await race.purge();
  const online = await t.platform.online();
  expect((await online.read('stats', ['c42', 'c1'])).states.map((s) => s !== undefined)).toEqual([false, true]);
});

test('a materialize of another entity\'s view overlapping a purge: the purge rematerializes it from the purged lake', async () => {
  const t = await setup(true);
  const race = purgeDuringMaterialize(t, 'last_buyer');
  await materialize(t.platform, t.project, { views: ['last_buyer'] });
  await race.purge();
  const online = await t.platform.online();
  const states = (await online.read('last_buyer', ['m1', 'm2'])).states;
  expect(states.map((s) => s !== undefined)).toEqual([true, true]);
  expect(JSON.stringify(states)).not.toContain('c42');
});
