import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, range } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { eraseSubject } from '../src/compliance/erasure/run-erasure.js';
import { runRetention } from '../src/compliance/retention/run-retention.js';
import { verifyAuditTrail } from '../src/compliance/audit/verify-audit-chain.js';
import { auditSigningKey } from '../src/compliance/audit/audit-signing-key.js';
import type { Principal } from '../src/compliance/principal.js';
import { onTestPause } from '../src/orchestration/test-pause.js';
import { literalList } from '../src/storage/engine/sql-engine.js';
import { tempPlatform } from './support/temp-platform.js';

// Erasures that overlap each other (or a retention run), in one process: leases are per holder,
// so two calls contend as two processes would. Overlaps are forced with test-pause points.
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', retention: '45d' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [stats] });
const dpo: Principal = { name: 'cli:dpo', roles: ['admin'], origin: 'local' };
const NOW = Date.parse('2024-03-01T00:00:00Z');

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const t = await tempPlatform(spec, NOW);
  cleanup.push(t.dispose);
  writeFileSync(join(t.dir, 'a.csv'), 'customer_id,amount,ts\nc42,1,2024-01-01T00:00:00Z\nc7,2,2024-02-01T00:00:00Z\nc1,3,2024-02-02T00:00:00Z\n');
  writeFileSync(join(t.dir, 'b.csv'), 'customer_id,amount,ts\nc42,4,2024-02-11T00:00:00Z\nc7,5,2024-02-12T00:00:00Z\nc1,6,2024-02-20T00:00:00Z\nc2,7,2024-01-05T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'a.csv'));
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'b.csv'));
  await materialize(t.platform, t.project);
  return t;
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** Every row of every snapshot, as `key:amount`, by snapshot, oldest first (so a doubled or orphan row shows). */
async function lakeRows(t: Setup): Promise<string[][]> {
  const engine = await t.platform.engine();
  const out: string[][] = [];
  for (const s of (await t.platform.metadata.listSnapshots({ source: 'txns' })).sort((a, b) => a.version - b.version)) {
    const rows = s.files.length === 0 ? [] : await engine.all<{ r: string }>(`SELECT customer_id || ':' || CAST(amount AS INTEGER) AS r FROM read_parquet(${literalList(s.files.map((f) => t.platform.lake.resolve(f)))}) ORDER BY 1`);
    expect(s.rowCount).toBe(rows.length);
    out.push(rows.map((r) => r.r));
  }
  return out;
}

async function certificates(t: Setup) {
  return (await t.platform.metadata.audit.list()).filter((r) => r.action === 'erase.completed' && r.outcome === 'succeeded').map((r) => r.details?.request);
}

test('two erasures of the same subject at once: the second waits for the first and returns its certificate; one request, one certificate', async () => {
  const t = await setup();
  let second: ReturnType<typeof eraseSubject> | undefined;
  const waiting = new Promise<void>((resolve) => cleanup.push(onTestPause('lease.wait:erase:erase-1', resolve)));
  cleanup.push(onTestPause('erase.purged', async () => {
    if (second !== undefined) return;
    second = eraseSubject(t.platform, t.project, { entity: 'customer', key: ['c42'], principal: dpo });
    await waiting;
  }));
  const first = await eraseSubject(t.platform, t.project, { entity: 'customer', key: ['c42'], principal: dpo });
  const again = await second!;
  expect(again.request.id).toBe(first.request.id);
  expect(again.certificate).toEqual(first.certificate);
  expect(first.certificate.rows).toBeGreaterThan(0);
  expect(await certificates(t)).toEqual([first.request.id]);
  expect((await t.platform.metadata.erasure.list()).map((r) => r.status)).toEqual(['completed']);
  expect((await lakeRows(t)).flat().some((r) => r.startsWith('c42'))).toBe(false);
  expect((await verifyAuditTrail(t.platform.metadata.audit, { publicKeys: [auditSigningKey(t.platform.dataDir).publicKey] })).problem).toBeNull();
});

test('two erasures of different subjects at once, and one overlapping a retention run: every subject and expired row goes, nothing else is lost or doubled', async () => {
  const t = await setup();
  let retention: ReturnType<typeof runRetention> | undefined;
  cleanup.push(onTestPause('purge.lake-done', () => {
    retention ??= runRetention(t.platform, t.project, { principal: dpo });
  }));
  const [a, b] = await Promise.all([
    eraseSubject(t.platform, t.project, { entity: 'customer', key: ['c42'], principal: dpo }),
    eraseSubject(t.platform, t.project, { entity: 'customer', key: ['c7'], principal: dpo }),
  ]);
  await retention;
  expect([a.request.status, b.request.status]).toEqual(['completed', 'completed']);
  expect((await certificates(t)).sort()).toEqual([a.request.id, b.request.id].sort());
  // Expired (before 2024-01-16): c2:7 and c42:1; erased: c42, c7. Left: c1's two rows, once each.
  expect((await lakeRows(t)).at(-1)).toEqual(['c1:3', 'c1:6']);
  const online = await t.platform.online();
  expect((await online.read('stats', ['c42', 'c7', 'c1', 'c2'])).states.map((s) => s !== undefined)).toEqual([false, false, true, false]);
  expect((await verifyAuditTrail(t.platform.metadata.audit, { publicKeys: [auditSigningKey(t.platform.dataDir).publicKey] })).problem).toBeNull();
});

test('an ingest that checked its rows before an erasure and commits after it does not bring the subject back: its commit conflicts, and the ingest checks its rows again and commits without them', async () => {
  const t = await setup();
  writeFileSync(join(t.dir, 'late.csv'), 'customer_id,amount,ts\nc42,8,2024-02-25T00:00:00Z\nc1,9,2024-02-26T00:00:00Z\n');
  let erased: Awaited<ReturnType<typeof eraseSubject>> | undefined;
  let pauses = 0;
  cleanup.push(onTestPause('ingest.checked', async () => {
    pauses += 1;
    erased ??= await eraseSubject(t.platform, t.project, { entity: 'customer', key: ['c42'], principal: dpo });
  }));
  const result = await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'late.csv'));
  expect(erased?.request.status).toBe('completed');
  expect(pauses).toBe(2); // checked once against the old block list, once again after the conflict
  expect(result).toMatchObject({ accepted: 1, rejected: 1 });
  expect((await t.platform.metadata.listDeadLetters({ source: 'txns' })).map((d) => d.reason)).toEqual(['erased']);
  expect((await lakeRows(t)).at(-1)).toEqual(['c1:3', 'c1:6', 'c1:9', 'c2:7', 'c7:2', 'c7:5']);
});

test('an ingest retried after an erasure arrived reports the duplicate events it dropped on its first attempt', async () => {
  const events = batchSource({ name: 'events', schema: { event_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'event_id' });
  const eventStats = featureView({ name: 'event_stats', entity: customer, source: events, features: { n: count() } });
  const t = await tempPlatform(defineProject({ name: 'e', entities: [customer], sources: [events], featureViews: [eventStats] }), NOW);
  cleanup.push(t.dispose);
  writeFileSync(join(t.dir, 'dup.csv'), 'event_id,customer_id,amount,ts\ne1,c1,1,2024-02-01T00:00:00Z\ne1,c1,1,2024-02-01T00:00:00Z\ne2,c42,2,2024-02-02T00:00:00Z\n');
  let pauses = 0;
  cleanup.push(onTestPause('ingest.checked', async () => {
    pauses += 1;
    if (pauses === 1) await eraseSubject(t.platform, t.project, { entity: 'customer', key: ['c42'], principal: dpo });
  }));
  const result = await ingestFile(t.platform, t.project, 'events', join(t.dir, 'dup.csv'));
  expect(pauses).toBe(2);
  expect(result).toMatchObject({ accepted: 1, rejected: 1, duplicates: 1 });
});

test('an ingest whose batch fails an error check while an erasure arrives quarantines it without the subject\'s rows', async () => {
  const checked = batchSource({ name: 'checked', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', checks: [range('amount', { min: 0, severity: 'error' })] });
  const checkedStats = featureView({ name: 'checked_stats', entity: customer, source: checked, features: { n: count() } });
  const t = await tempPlatform(defineProject({ name: 'q', entities: [customer], sources: [checked], featureViews: [checkedStats] }), NOW);
  cleanup.push(t.dispose);
  writeFileSync(join(t.dir, 'bad.csv'), 'customer_id,amount,ts\nc42,-1,2024-02-01T00:00:00Z\nc1,-2,2024-02-02T00:00:00Z\n');
  let erased = false;
  cleanup.push(onTestPause('ingest.checked', async () => {
    if (erased) return;
    erased = true;
    await eraseSubject(t.platform, t.project, { entity: 'customer', key: ['c42'], principal: dpo });
  }));
  await expect(ingestFile(t.platform, t.project, 'checked', join(t.dir, 'bad.csv'))).rejects.toMatchObject({ message: expect.stringContaining('quarantined') });
  const held = await t.platform.metadata.quality.listQuarantine({ status: 'held', dataset: 'checked' });
  expect(held).toHaveLength(1);
  const engine = await t.platform.engine();
  const rows = await engine.all<{ k: string }>(`SELECT customer_id AS k FROM read_parquet(${literalList([join(t.platform.dataDir, held[0]!.file)])}) ORDER BY 1`);
  expect(rows.map((r) => r.k)).toEqual(['c1']);
});
