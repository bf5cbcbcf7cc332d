import { afterAll, beforeAll, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, streamSource, type Project } from '../definitions/index.js';
import { duckDbEngine } from '../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { decodeEvents } from './decode-events.js';

const ACK = Date.parse('2026-11-29T06:00:00.000Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const orders = streamSource({ name: 'orders', timestamp: 'ts', schema: { account_id: 'string', qty: 'int64', price: 'float64', ts: 'timestamp' } });
const stats = featureView({ name: 'stats', entity: account, source: orders, features: { n: count() } });
const project: Project = compileProject(defineProject({ name: 'reasons', entities: [account], sources: [orders], featureViews: [stats] }));
const source = project.sources[0]!;

let engine: SqlEngine;
beforeAll(async () => {
  engine = await duckDbEngine({ threads: 1, memoryLimit: '256MiB' });
});
afterAll(async () => engine.close());

const events = [
  '{"account_id": "a", "qty": 1e3, "price": 1.50e0, "ts": "2026-11-29T05:59:00Z"}',
  '{"account_id": "a", "qty": 2.50E+1, "price": "x", "ts": "2026-11-29T05:59:00Z", "note": {"qty": 7}}',
  '{"account_id": "a", "qty": 99999999999999999999, "ts": "2026-11-29T05:59:00Z"}',
];
const expected = [
  'column "qty": "1e3" is not an int64 (write a whole number in decimal digits)',
  'column "qty": "2.50E+1" is not an int64 (write a whole number in decimal digits); column "price": "x" is not a float64',
  'column "qty": "99999999999999999999" is outside the int64 range (-2^63 to 2^63-1)',
];

test('a pushed event refused for a value quotes the value as the client wrote it, not as DuckDB re-writes it', async () => {
  const decoded = await decodeEvents(engine, project, source, [{ body: `{"events": [${events.join(', ')}]}` }], ACK);
  expect(decoded.rejected.map((r) => [r.raw, r.reason])).toEqual(events.map((e, i) => [e, expected[i]]));
});

test("a connector's refused event quotes the value as its text holds it", async () => {
  const decoded = await decodeEvents(engine, project, source, [{ texts: events }], ACK);
  expect(decoded.rejected.map((r) => r.reason)).toEqual(expected);
});
