import { afterAll, beforeAll, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { viewPlan } from './feature-plan.js';
import { computePointInTime, finishSweep, sortPoints, startSweep } from './point-in-time.js';

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
