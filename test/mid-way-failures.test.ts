import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { entityStates } from '../src/processing/entity-states.js';
import { viewPlan } from '../src/processing/feature-plan.js';
import { computePointInTime, sortPoints } from '../src/processing/point-in-time.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { duckDbEngine } from '../src/storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../src/storage/engine/sql-engine.js';
import { readDecodedEvents } from '../src/streaming/read-decoded.js';
import { lateFailing } from './support/late-failure.js';
import { tempPlatform } from './support/temp-platform.js';

// A DuckDB query that fails after its first chunks: @duckdb/node-api ends its result like an
// exhausted one, so each caller of streamChunks would see fewer rows and no error unless the
// engine tells the two ends apart. Each test makes the real engine fail mid-way in the caller's
// own query (enough rows that DuckDB has handed out chunks before the failure).

const ROWS = 400_000;
const LATE = 300_000;
const MID_WAY = { code: 'ADAPTER_FAILED', message: expect.stringMatching(/ended before its end marker: it failed mid-way/) };

const account = entity({ name: 'account', joinKey: 'k' });
const events = batchSource({ name: 'e', schema: { k: 'string', x: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: account, source: events, features: { n: count(), s: sum('x', { window: '1h' }) } });
const spec = defineProject({ name: 'p', entities: [account], sources: [events], featureViews: [view] });
const project = compileProject(spec);
const plan = viewPlan(project.featureViews[0]!);
const eventsSql = `SELECT 'a' || (i % 50) AS _key, (i * 10)::BIGINT AS _ts, i::BIGINT AS _seq, (i * 10)::BIGINT AS _known_at, i * 0.5 AS _v0 FROM range(${ROWS}) t(i)`;

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 2, memoryLimit: '512MiB' });
  await engine.run(`CREATE TABLE points AS SELECT 'a' || (i % 50) AS _key, (100 + i * 10010)::BIGINT AS _t, i AS _pid FROM range(400) t(i)`);
});
afterAll(async () => engine?.close());

test('the dataset sweep: events failing mid-way raise, never points evaluated without the events after the failure', async () => {
  await computePointInTime(engine, plan, plan.view.features, eventsSql, 'points', 'out_whole', 'o');
  expect(await engine.all('SELECT count(*)::INTEGER AS n FROM out_whole')).toEqual([{ n: 400 }]);
  const failing = await lateFailing(engine, LATE, /_seq/);
  await expect(computePointInTime(failing.engine, plan, plan.view.features, eventsSql, 'points', 'out_cut', 'o')).rejects.toMatchObject(MID_WAY);
  expect(failing.yielded()).toBeGreaterThan(0);
  expect(await engine.all('SELECT 42 AS n')).toEqual([{ n: 42 }]);
});

test('the dataset sweep: sorting the points failing mid-way raises, never a sweep over some of them', async () => {
  await engine.run(`CREATE TABLE many_points AS SELECT 'a' || (i % 5000) AS _key, (1000 + i)::BIGINT AS _t, i AS _pid FROM range(${ROWS}) t(i)`);
  const failing = await lateFailing(engine, LATE, /_kid/);
  await expect(sortPoints(failing.engine, 'many_points')).rejects.toMatchObject(MID_WAY);
  expect(failing.yielded()).toBeGreaterThan(0);
});

test('the streaming read path: events failing mid-way raise, never fewer events decoded', async () => {
  const relation = `SELECT i AS _line, 'r' || i AS _raw, i * 1000 AS _ts, 'a' || (i % 50) AS k, i * 0.5 AS x, make_timestamp(i * 1000000) AS ts FROM range(${ROWS}) t(i)`;
  const whole = await readDecodedEvents(engine, project.sources[0]!, relation, 'lake');
  expect(whole.lines).toHaveLength(ROWS);
  const failing = await lateFailing(engine, LATE, /_line/);
  await expect(readDecodedEvents(failing.engine, project.sources[0]!, relation, 'lake')).rejects.toMatchObject(MID_WAY);
  expect(failing.yielded()).toBeGreaterThan(0);
});

test('online states: events failing mid-way raise, never fewer entities written', async () => {
  const failing = await lateFailing(engine, LATE, /_seq/);
  const counts = { entities: 0, retained: 0 };
  const read = async () => {
    for await (const state of entityStates(failing.engine, plan, eventsSql, ROWS * 10 + 1, counts)) void state;
  };
  await expect(read()).rejects.toMatchObject(MID_WAY);
  expect(failing.yielded()).toBeGreaterThan(0);
});

test('a dataset build whose sweep fails in DuckDB mid-way fails, and writes no dataset', { timeout: 120_000 }, async () => {
  const env = await tempPlatform(spec, Date.parse('2024-01-02T00:00:00Z'), { threads: 2 });
  try {
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const lines = ['k,x,ts'];
    for (let i = 0; i < ROWS; i++) lines.push(`a${i % 50},${i % 100},${new Date(t0 + i * 100).toISOString()}`);
    writeFileSync(join(env.dir, 'e.csv'), lines.join('\n'));
    await ingestFile(env.platform, env.project, 'e', join(env.dir, 'e.csv'));
    writeFileSync(join(env.dir, 'spine.csv'), ['k,ts', ...Array.from({ length: 200 }, (_, i) => `a${i % 50},${new Date(t0 + i * 200_000).toISOString()}`)].join('\n'));
    const whole = join(env.dir, 'whole.jsonl');
    await buildDataset(env.platform, env.project, { spine: join(env.dir, 'spine.csv'), out: whole, features: ['v:n', 'v:s'] });
    expect(existsSync(whole)).toBe(true);
    const failing = await lateFailing(await env.platform.engine(), LATE, /_seq/);
    const out = join(env.dir, 'out.jsonl');
    await expect(buildDataset({ ...env.platform, engine: async () => failing.engine }, env.project, { spine: join(env.dir, 'spine.csv'), out, features: ['v:n', 'v:s'] })).rejects.toMatchObject(MID_WAY);
    expect(failing.yielded()).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(false);
  } finally {
    await env.dispose();
  }
});
