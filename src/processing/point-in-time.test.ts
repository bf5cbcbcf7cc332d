import { afterAll, beforeAll, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { viewPlan } from './feature-plan.js';
import { computePointInTime, finishSweep, sortPoints, startSweep } from './point-in-time.js';
import { viewEventsSql } from './view-events-sql.js';

const account = entity({ name: 'account', joinKey: 'k' });
const events = batchSource({ name: 'e', schema: { k: 'string', x: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'v', entity: account, source: events, features: { n: count() } });
const project = compileProject(defineProject({ name: 'p', entities: [account], sources: [events], featureViews: [view] }));

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
  // More points than one result chunk (2,048 rows): the sweep reads several.
  await engine.run(`CREATE TABLE points AS SELECT 'a' || (i % 50) AS _key, (1000 + i)::BIGINT AS _t, i AS _pid FROM range(5000) t(i)`);
});
afterAll(async () => engine.close());

test('a sweep whose result ends early (as @duckdb/node-api ends a query failing mid-way) is an error, not a table missing points', async () => {
  const plan = viewPlan(project.featureViews[0]!);
  const sql = viewEventsSql(plan, project.sources[0]!, []);
  const whole = await computePointInTime(engine, plan, plan.view.features, sql, 'points', 'out_whole', 'o');
  expect(whole).toHaveLength(1);
  expect(await engine.all('SELECT count(*)::INTEGER AS n FROM out_whole')).toEqual([{ n: 5000 }]);
  // The real engine, whose streamed results stop after their first chunk.
  const cut = cutAfterOneChunk(engine);
  await expect(computePointInTime(cut, plan, plan.view.features, sql, 'points', 'out_cut', 'o')).rejects.toThrow(/the spine: the point-in-time sweep read only some of its sorted points \(2048 of 5000\)/);
});

test('a sweep whose events end early is an error, not points evaluated without the events after the cut', async () => {
  const plan = viewPlan(project.featureViews[0]!);
  // 40 points (one chunk) and 6,000 events (several chunks) of one entity.
  await engine.run(`CREATE TABLE few_points AS SELECT 'a' AS _key, (100000 + i * 1000)::BIGINT AS _t, i AS _pid FROM range(40) t(i)`);
  const sql = `SELECT 'a' AS _key, (i * 10)::BIGINT AS _ts, i::BIGINT AS _seq, (i * 10)::BIGINT AS _known_at FROM range(6000) t(i)`;
  await computePointInTime(engine, plan, plan.view.features, sql, 'few_points', 'out_events_whole', 'o');
  expect(await engine.all('SELECT count(*)::INTEGER AS n FROM out_events_whole')).toEqual([{ n: 40 }]);
  const cut = cutAfterOneChunk(engine);
  await expect(computePointInTime(cut, plan, plan.view.features, sql, 'few_points', 'out_events_cut', 'o')).rejects.toThrow(/view "v": the point-in-time sweep read only some of its events \(2048 read, then the result ended without its end marker\)/);
});

test('sweeps started ahead: one cancelled unread, one finished later, while another runs; the finished one equals computePointInTime, the engine stays usable', async () => {
  const plan = viewPlan(project.featureViews[0]!);
  const sql = `SELECT 'a' || (i % 50) AS _key, (i * 3)::BIGINT AS _ts, i::BIGINT AS _seq, (i * 3)::BIGINT AS _known_at FROM range(20000) t(i)`;
  await computePointInTime(engine, plan, plan.view.features, sql, 'points', 'out_direct', 'o');
  const sorted = await sortPoints(engine, 'points');
  try {
    const cancelled = startSweep(engine, plan, plan.view.features, sql, sorted);
    const ahead = startSweep(engine, plan, plan.view.features, sql, sorted);
    await finishSweep(engine, startSweep(engine, plan, plan.view.features, sql, sorted), 'out_first', 'o');
    await cancelled.cancel();
    await finishSweep(engine, ahead, 'out_ahead', 'o');
  } finally {
    await sorted.release();
  }
  for (const table of ['out_first', 'out_ahead']) {
    const differing = await engine.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM (SELECT * FROM out_direct EXCEPT ALL SELECT * FROM ${table})`);
    expect({ table, differing }).toEqual({ table, differing: [{ n: 0 }] });
  }
  expect(await engine.all('SELECT count(*)::INTEGER AS n FROM out_ahead')).toEqual([{ n: 5000 }]);
});

test('the end marker sorts on keys that are not NULL (a NULL sort key makes DuckDB sort every row on wider keys), and last', async () => {
  const plan = viewPlan(project.featureViews[0]!);
  const sql = `SELECT 'a' || (i % 50) AS _key, (i * 3)::BIGINT AS _ts, i::BIGINT AS _seq, (i * 3)::BIGINT AS _known_at FROM range(3000) t(i)`;
  const sorted = await sortPoints(engine, 'points');
  try {
    const started = startSweep(engine, plan, plan.view.features, sql, sorted);
    await started.cancel();
    const rows = await engine.all<{ _kid: number; _time: number; _seq: number }>(`SELECT _kid, _time, _seq::INTEGER AS _seq FROM (${started.sql}) ORDER BY _kid, _time, _seq`);
    expect(rows.filter((r) => r._kid === null || r._time === null || r._seq === null)).toEqual([]);
    expect(rows.at(-1)).toEqual({ _kid: Infinity, _time: Infinity, _seq: 0 });
    expect(rows.filter((r) => r._kid === Infinity)).toHaveLength(1);
  } finally {
    await sorted.release();
  }
});

function cutAfterOneChunk(engine: SqlEngine): SqlEngine {
  return new Proxy(engine, {
    get(target, name) {
      if (name === 'streamChunks') {
        return async function* (query: string) {
          for await (const chunk of target.streamChunks(query)) {
            yield chunk;
            return;
          }
        };
      }
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
