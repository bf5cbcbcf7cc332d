import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, defineProject, entity, notNull } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { literal } from '../src/storage/engine/sql-engine.js';
import { releaseBatch } from '../src/quality/quarantine.js';
import type { Principal } from '../src/compliance/principal.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', checks: [notNull('amount', { severity: 'error' })] });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [] });
const admin: Principal = { name: 'cli:test', roles: ['admin'], origin: 'local' };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

test('an erasure that runs between an ingest\'s check of the block list and its hold of a blocked batch (so its purge does not see the batch held) leaves no held row of the subject; a release commits the rest', async () => {
  const t = await tempPlatform(spec, Date.parse('2024-03-01T00:00:00Z'));
  cleanup.push(t.dispose);
  const { platform, project, dir } = t;
  writeFileSync(join(dir, 'held.csv'), 'customer_id,amount,ts\nc42,,2024-02-01T00:00:00Z\nc2,3,2024-02-01T00:00:00Z\n');
  const off = onTestPause('quarantine.hold', async () => {
    off();
    await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal: admin });
  });
  await ingestFile(platform, project, 'txns', join(dir, 'held.csv')).catch((error: unknown) => error);
  off();
  const held = await platform.metadata.quality.listQuarantine({ status: 'held' });
  const engine = await platform.engine();
  const keys = held.length === 0 ? [] : await engine.all<{ c: string }>(`SELECT customer_id AS c FROM read_parquet(${literal(join(platform.dataDir, held[0]!.file))})`);
  expect(keys.map((k) => k.c)).toEqual(['c2']);
  expect(held[0]!.rows).toBe(1);
  // Nor do the batch's check samples (its record, the JSON beside its file, the check results): they showed the subject's failing row until 12-01.
  const results = JSON.stringify([held[0]!.results, await platform.metadata.quality.latestResults({}), readFileSync(join(platform.dataDir, held[0]!.file.replace(/\.parquet$/, '.json')), 'utf8')]);
  expect(results).toContain('amount');
  expect(results).not.toContain('c42');
  // Released, it commits what is left.
  const { snapshot } = await releaseBatch(platform, held[0]!.id, 'ana');
  expect(snapshot.rowCount).toBe(1);
}, 120_000);
