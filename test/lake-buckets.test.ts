import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { purgeRows } from '../src/compliance/purge/index.js';
import { bucketSql, bucketTag, filesForKeys, keyBucket, parseBucketTag, ROWS_PER_BUCKET } from '../src/storage/lake/entity-buckets.js';
import { literal, literalList } from '../src/storage/engine/sql-engine.js';
import type { Principal } from '../src/compliance/principal.js';
import { tempPlatform } from './support/temp-platform.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const ticks = batchSource({ name: 'ticks', schema: { tick: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spec = defineProject({ name: 'b', entities: [customer], sources: [txns, ticks], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } })] });
const admin: Principal = { name: 'cli:test', roles: ['admin'], origin: 'local' };
const ROWS = ROWS_PER_BUCKET * 2 + 1000;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const t = await tempPlatform(spec, Date.parse('2026-03-01T00:00:00Z'));
  cleanup.push(t.dispose);
  const engine = await t.platform.engine();
  const big = join(t.dir, 'big.parquet');
  await engine.run(`COPY (SELECT 't' || i AS txn_id, 'c' || (i * 7919 % 1000) AS customer_id, (i % 100)::DOUBLE AS amount,
    TIMESTAMP '2026-01-01' + to_milliseconds(i::BIGINT) AS ts FROM range(${ROWS}) r(i)) TO ${literal(big)} (FORMAT PARQUET)`);
  // An older layout: a small batch stays one untagged file.
  writeFileSync(join(t.dir, 'small.csv'), 'txn_id,customer_id,amount,ts\nx1,c42,1,2026-02-01T00:00:00Z\nx2,c7,2,2026-02-01T00:00:00Z\n');
  await ingestFile(t.platform, t.project, 'txns', join(t.dir, 'small.csv'));
  await ingestFile(t.platform, t.project, 'txns', big);
  return { ...t, engine };
}

test('a large batch is written as one file per entity-key bucket, in one snapshot, every row once in _seq order', async () => {
  const { platform, engine } = await setup();
  const snapshot = (await platform.metadata.latestSnapshot('txns'))!;
  const tagged = snapshot.files.filter((f) => parseBucketTag(f) !== undefined);
  expect(snapshot.files).toHaveLength(4);
  expect(tagged.map((f) => parseBucketTag(f)!.bucket).sort()).toEqual([0, 1, 2]);
  expect(snapshot.rowCount).toBe(ROWS + 2);
  const paths = snapshot.files.map((f) => platform.lake.resolve(f));
  const [all] = await engine.all<{ n: number; seqs: number; lo: number; hi: number }>(`SELECT count(*)::BIGINT AS n, count(DISTINCT _seq)::BIGINT AS seqs, min(_seq)::BIGINT AS lo, max(_seq)::BIGINT AS hi FROM read_parquet(${literalList(paths)})`);
  expect([Number(all!.n), Number(all!.seqs), Number(all!.hi) - Number(all!.lo) + 1]).toEqual([ROWS + 2, ROWS + 2, ROWS + 2]);
  // Each customer of the big batch sits in exactly one of its files.
  const [spread] = await engine.all<{ m: number }>(`SELECT max(files)::BIGINT AS m FROM (SELECT customer_id, count(DISTINCT filename) AS files FROM read_parquet(${literalList(tagged.map((f) => platform.lake.resolve(f)))}, filename = true) GROUP BY 1)`);
  expect(Number(spread!.m)).toBe(1);
  for (const f of tagged) {
    const [unordered] = await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (SELECT _seq < lag(_seq) OVER () AS back FROM read_parquet(${literal(platform.lake.resolve(f))})) WHERE back`);
    expect(Number(unordered!.n)).toBe(0);
  }
});

test('a purge by key reads and rewrites only the key bucket of a split batch and every untagged file', async () => {
  const { platform, project, engine } = await setup();
  const before = (await platform.metadata.latestSnapshot('txns'))!;
  const paths = (files: readonly string[]) => literalList(files.map((f) => platform.lake.resolve(f)));
  const [c42] = await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM read_parquet(${paths(before.files)}) WHERE customer_id = 'c42'`);
  const report = await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c42'] }, reason: 'erasure', principal: admin });
  const lake = report.stores.find((s) => s.store === 'lake:txns')!;
  expect(lake.rows).toBe(Number(c42!.n));
  expect(lake.filesRewritten).toHaveLength(2);
  expect(lake.filesRewritten.filter((f) => parseBucketTag(f) !== undefined)).toHaveLength(1);
  const after = (await platform.metadata.latestSnapshot('txns'))!;
  const [left] = await engine.all<{ n: number; c42: number }>(`SELECT count(*)::BIGINT AS n, count(*) FILTER (customer_id = 'c42')::BIGINT AS c42 FROM read_parquet(${paths(after.files)})`);
  expect([Number(left!.n), Number(left!.c42)]).toEqual([ROWS + 2 - Number(c42!.n), 0]);
  // The rewritten bucket file keeps its tag, so a later purge still prunes by it.
  expect(after.files.filter((f) => parseBucketTag(f) !== undefined)).toHaveLength(3);
  const again = await purgeRows(platform, project, { source: 'txns', match: { kind: 'keys', entity: 'customer', keys: ['c7', 'c8'] }, reason: 'erasure', principal: admin });
  const [gone] = await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM read_parquet(${paths((await platform.metadata.latestSnapshot('txns'))!.files)}) WHERE customer_id IN ('c7', 'c8')`);
  expect(Number(gone!.n)).toBe(0);
  expect(again.stores.find((s) => s.store === 'lake:txns')!.rows).toBeGreaterThan(0);
});

test('a source carrying no entity key keeps one file per batch; tags of other key columns are never pruned', async () => {
  const { platform, project, engine, dir } = await setup();
  const file = join(dir, 'ticks.parquet');
  await engine.run(`COPY (SELECT 'k' || i AS tick, TIMESTAMP '2026-01-01' + to_milliseconds(i::BIGINT) AS ts FROM range(${ROWS}) r(i)) TO ${literal(file)} (FORMAT PARQUET)`);
  await ingestFile(platform, project, 'ticks', file);
  expect((await platform.metadata.latestSnapshot('ticks'))!.files).toHaveLength(1);
  const other = [`txns/seq0-aa-${bucketTag(['merchant'], 0, 2)}.parquet`, `txns/seq0-aa-${bucketTag(['customer_id'], 0, 2)}-r0123abcd.parquet`, `txns/seq0-aa-${bucketTag(['customer_id'], 1, 2)}.parquet`, 'txns/seq9-bb.parquet'];
  const kept = filesForKeys(other, ['customer_id'], ['c42']);
  expect(kept).toContain(other[0]);
  expect(kept).toContain(other[3]);
  expect(kept.filter((f) => basename(f).includes(bucketTag(['customer_id'], 0, 2).slice(4)))).toHaveLength(1);
  expect(parseBucketTag(other[1]!)).toMatchObject({ bucket: 0, of: 2 });
});

test('the bucket of a key is the same in the engine and in JavaScript, for any Unicode key and bucket count', async () => {
  const t = await tempPlatform(spec);
  cleanup.push(t.dispose);
  const engine = await t.platform.engine();
  const keys = ['c42', '', 'ü', 'Zoë 😀', "it's", '2:u13:m45', 'x'.repeat(300)];
  for (const n of [2, 7, 16]) {
    const rows = await engine.all<{ k: string; b: number }>(`SELECT k, ${bucketSql(['k'], n)} AS b FROM (VALUES ${keys.map((k) => `(${literal(k)})`).join(', ')}) t(k)`);
    expect(rows.map((r) => [r.k, Number(r.b)])).toEqual(expect.arrayContaining(keys.map((k) => [k, keyBucket(k, n)])));
  }
});
