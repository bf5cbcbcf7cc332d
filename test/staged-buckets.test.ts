import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView, notNull, range } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { publishLakeFiles } from '../src/ingest/commit-ingest.js';
import { releaseBatch } from '../src/quality/quarantine.js';
import { parseBucketTag, ROWS_PER_BUCKET } from '../src/storage/lake/entity-buckets.js';
import { literal, literalList } from '../src/storage/engine/sql-engine.js';
import { tempPlatform } from './support/temp-platform.js';

// A batch split by entity-key bucket is staged once (typed, bucketed) and written per bucket from
// there: the checks read the staged rows, a quarantine holds them as one file, a release commits them.
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const schema = { txn_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' } as const;
const checked = batchSource({ name: 'txns', schema, timestamp: 'ts', checks: [range('amount', { min: 0, mostly: 0.5 }), notNull('amount', { severity: 'error' })] });
const spec = defineProject({ name: 's', entities: [customer], sources: [checked], featureViews: [featureView({ name: 'stats', entity: customer, source: checked, features: { n: count() } })] });
const ROWS = ROWS_PER_BUCKET * 2 + 1000;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A platform with more DuckDB threads than tests use by default (order must not depend on one thread), and a big Parquet input; `nulls` rows have no amount. */
async function setup(nulls: number) {
  const t = await tempPlatform(spec, Date.parse('2026-03-01T00:00:00Z'), { threads: 4 });
  cleanup.push(t.dispose);
  const engine = await t.platform.engine();
  const input = join(t.dir, 'big.parquet');
  await engine.run(`COPY (SELECT 't' || i AS txn_id, 'c' || (i * 7919 % 1000) AS customer_id, CASE WHEN i < ${nulls} THEN NULL WHEN i % 10 = 0 THEN -1 ELSE (i % 100)::DOUBLE END AS amount,
    TIMESTAMP '2026-01-01' + to_milliseconds(i::BIGINT) AS ts FROM range(${ROWS}) r(i)) TO ${literal(input)} (FORMAT PARQUET)`);
  return { ...t, engine, input };
}

/** The staging area is empty and no staged table is left. */
async function nothingStaged(t: Awaited<ReturnType<typeof setup>>): Promise<void> {
  expect((await t.platform.lake.listFiles()).filter((f) => f.staging)).toEqual([]);
  expect(await t.engine.all(`SELECT table_name FROM duckdb_tables() WHERE table_name IN ('ingest_staged', 'ingest_buckets', 'ingest_checked')`)).toEqual([]);
}

test('a split batch passing its checks: results from the staged rows, one file per bucket in _seq order, every row once as read', async () => {
  const t = await setup(0);
  const result = await ingestFile(t.platform, t.project, 'txns', t.input);
  expect(result.accepted).toBe(ROWS);
  // amount < 0 on every tenth row (i % 10 = 0).
  expect(result.checks!.map((c) => [c.check, c.passed, c.failingRows])).toEqual([['amount_range', true, Math.ceil(ROWS / 10)], ['amount_not_null', true, 0]]);
  const files = (await t.platform.metadata.latestSnapshot('txns'))!.files;
  expect(files.map((f) => parseBucketTag(f)?.bucket)).toEqual([0, 1, 2]);
  for (const f of files) {
    const [unordered] = await t.engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (SELECT _seq < lag(_seq) OVER () AS back FROM read_parquet(${literal(t.platform.lake.resolve(f))})) WHERE back`);
    expect(Number(unordered!.n)).toBe(0);
  }
  // Each row as read, its _seq its position in the input.
  const [differ] = await t.engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (
    SELECT txn_id, customer_id, amount, ts, _seq, epoch_ms(ts) AS _ts, epoch_ms(ts) AS _known_at FROM read_parquet(${literalList(files.map((f) => t.platform.lake.resolve(f)))})
    EXCEPT ALL SELECT txn_id, customer_id, amount, ts, row_number() OVER () - 1, epoch_ms(ts), epoch_ms(ts) FROM read_parquet(${literal(t.input)}))`);
  expect(Number(differ!.n)).toBe(0);
  await nothingStaged(t);
});

test('a split batch failing an error check is held as one file in _seq order, nothing published; release commits exactly its rows', async () => {
  const t = await setup(5);
  await expect(ingestFile(t.platform, t.project, 'txns', t.input)).rejects.toThrow(`error check "amount_not_null" (amount is not null: 5 of ${ROWS} rows fail) failed; the batch (${ROWS} rows of ${t.input}) is quarantined as 1`);
  expect(await t.platform.metadata.latestSnapshot('txns')).toBeUndefined();
  expect(readdirSync(join(t.platform.dataDir, 'lake', 'txns')).filter((f) => f.endsWith('.parquet'))).toEqual([]);
  await nothingStaged(t);
  const [held] = await t.platform.metadata.quality.listQuarantine({ status: 'held' });
  expect(held).toMatchObject({ rows: ROWS });
  const heldPath = join(t.platform.dataDir, held!.file);
  const [order] = await t.engine.all<{ n: number; back: number; lo: number; hi: number }>(`SELECT count(*)::BIGINT AS n, count(*) FILTER (back)::BIGINT AS back, min(_seq)::BIGINT AS lo, max(_seq)::BIGINT AS hi FROM (SELECT _seq, _seq < lag(_seq) OVER () AS back FROM read_parquet(${literal(heldPath)}))`);
  expect([Number(order!.n), Number(order!.back), Number(order!.lo), Number(order!.hi)]).toEqual([ROWS, 0, 0, ROWS - 1]);
  const { snapshot } = await releaseBatch(t.platform, held!.id, 'ana');
  expect(snapshot.rowCount).toBe(ROWS);
  const [released] = await t.engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (FROM read_parquet(${literalList(snapshot.files.map((f) => t.platform.lake.resolve(f)))}) EXCEPT ALL SELECT txn_id, customer_id, amount, ts, epoch_ms(ts), row_number() OVER () - 1, epoch_ms(ts) FROM read_parquet(${literal(t.input)}))`);
  expect(Number(released!.n)).toBe(0);
});

test('a staged file split on publish (the stream path): one file per bucket, each in _seq order, every row once', async () => {
  const t = await setup(0);
  const staged = t.platform.lake.stagingPath('txns');
  await t.engine.run(`COPY (SELECT txn_id, customer_id, amount, ts, epoch_ms(ts) AS _ts, (100 + row_number() OVER () - 1)::BIGINT AS _seq, epoch_ms(ts) AS _known_at FROM read_parquet(${literal(t.input)})) TO ${literal(staged)} (FORMAT PARQUET)`);
  const source = t.project.sources.find((s) => s.name === 'txns')!;
  const files = await publishLakeFiles(t.platform, t.engine, t.project, source, staged, ROWS, 'log1-9');
  expect(files.map((f) => parseBucketTag(f)?.bucket)).toEqual([0, 1, 2]);
  for (const f of files) {
    const [unordered] = await t.engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (SELECT _seq < lag(_seq) OVER () AS back FROM read_parquet(${literal(t.platform.lake.resolve(f))})) WHERE back`);
    expect(Number(unordered!.n)).toBe(0);
  }
  const [all] = await t.engine.all<{ n: number; seqs: number; lo: number; hi: number }>(`SELECT count(*)::BIGINT AS n, count(DISTINCT _seq)::BIGINT AS seqs, min(_seq)::BIGINT AS lo, max(_seq)::BIGINT AS hi FROM read_parquet(${literalList(files.map((f) => t.platform.lake.resolve(f)))})`);
  expect([Number(all!.n), Number(all!.seqs), Number(all!.lo), Number(all!.hi)]).toEqual([ROWS, ROWS, 100, 100 + ROWS - 1]);
  await nothingStaged(t);
});
