import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPlatform } from '../src/platform.js';
import { createServer } from '../src/serving/http/server.js';
import { sluice } from './support/cli.js';

// Features of a (user, merchant) pair, through every path: CSV ingest, materialize, HTTP, `get`,
// and a dataset built from a spine with both key columns.
const CONFIG = `import { defineProject, entity, batchSource, featureView, featureService, count, sum, last } from 'sluice';

const pair = entity({ name: 'user_merchant', joinKeys: ['user_id', 'merchant_id'] });
const userTerminal = entity({ name: 'user_terminal', joinKeys: ['user_id', 'terminal_id'] });
const txns = batchSource({
  name: 'txns',
  schema: { txn_id: 'string', user_id: 'string', merchant_id: 'string', terminal_id: 'int64', amount: 'float64', ts: 'timestamp' },
  timestamp: 'ts',
});
const pairStats = featureView({
  name: 'pair_stats', entity: pair, source: txns,
  features: { n: count(), total: sum('amount'), last_txn: last('txn_id') },
});
const terminalStats = featureView({ name: 'terminal_stats', entity: userTerminal, source: txns, features: { n: count() } });

export default defineProject({
  name: 'pairs', entities: [pair, userTerminal], sources: [txns], featureViews: [pairStats, terminalStats],
  featureServices: [featureService({ name: 'pair_v1', features: [pairStats] })],
});
`;

// ("a:b", "c"), ("a", "b:c") and ("a:", "bc")-style pairs must stay apart; terminal
// 9007199254740993 is an int64 beyond 2^53.
const BIG = '9007199254740993';
const DATA = [
  'txn_id,user_id,merchant_id,terminal_id,amount,ts',
  't1,u1,1,1,5,2024-01-01T00:00:00Z',
  't2,u1,1,1,7,2024-01-01T00:01:00Z',
  't3,u1,2,1,100,2024-01-01T00:02:00Z',
  't4,a:b,c,1,1,2024-01-01T00:03:00Z',
  't5,a,b:c,1,10,2024-01-01T00:04:00Z',
  't6,a:,bc,1,1000,2024-01-01T00:05:00Z',
  't7,,1,1,3,2024-01-01T00:06:00Z',
  't8,u1,,1,3,2024-01-01T00:07:00Z',
  `t9,u2,m9,${BIG},4,2024-01-01T00:08:00Z`,
].join('\n');

const USERS = ['u1', 'u1', 'a:b', 'a', 'a:', 'u2', 'nobody'];
const MERCHANTS = ['1', '2', 'c', 'b:c', 'bc', 'm9', '1'];
const EXPECTED = [
  { n: 2, total: 12, last_txn: 't2' },
  { n: 1, total: 100, last_txn: 't3' },
  { n: 1, total: 1, last_txn: 't4' },
  { n: 1, total: 10, last_txn: 't5' },
  { n: 1, total: 1000, last_txn: 't6' },
  { n: 1, total: 4, last_txn: 't9' },
  { n: 0, total: null, last_txn: null },
];

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-composite-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
  writeFileSync(join(dir, 'txns.csv'), DATA);
  const planned = sluice(dir, 'plan');
  expect(planned.stderr).toBe('');
  expect(planned.code).toBe(0);
  const applied = sluice(dir, 'apply');
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  const ingested = sluice(dir, 'ingest', 'txns', '--file', 'txns.csv', '--json');
  expect(ingested.json()).toMatchObject({ accepted: 7, rejected: 2 });
  expect(sluice(dir, 'materialize').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('entities with composite join keys', () => {
  test('rows with a null key part go to the dead-letter store, naming the key', () => {
    expect(sluice(dir, 'list', 'entities', '--json').json()).toEqual([
      { name: 'user_merchant', joinKey: 'user_id,merchant_id', description: null },
      { name: 'user_terminal', joinKey: 'user_id,terminal_id', description: null },
    ]);
    const dlq = sluice(dir, 'dlq', '--json').json<{ rows: Array<{ line: number; reason: string }> }>();
    expect(dlq.rows.map((r) => r.line)).toEqual([8, 9]);
    expect(dlq.rows[0]!.reason).toContain('column "user_id": the join key of entity "user_merchant" is missing');
    expect(dlq.rows[1]!.reason).toContain('column "merchant_id": the join key of entity "user_merchant" is missing');
  });

  test('HTTP, get and the dataset agree per (pair, t); pairs whose parts contain ":" never collide', async () => {
    const platform = openPlatform({ projectDir: dir });
    const app = await createServer(platform);
    let asOf: string;
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { user_id: USERS, merchant_id: MERCHANTS.map((m, i) => (i === 1 ? 2 : m)) }, service: 'pair_v1' } });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ asOf: string; rows: Array<Record<string, unknown>> }>();
      asOf = body.asOf;
      expect(body.rows.map((r) => ({ n: r.pair_stats__n, total: r.pair_stats__total, last_txn: r.pair_stats__last_txn }))).toEqual(EXPECTED);
      expect(body.rows[0]).toMatchObject({ user_id: 'u1', merchant_id: '1' });
      expect(Object.keys(body.rows[0]!).slice(0, 2)).toEqual(['user_id', 'merchant_id']);

      const terminals = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { user_id: ['u2', 'u2', 'u1'], terminal_id: [BIG, 2, 1] }, features: ['terminal_stats:n'] } });
      expect(terminals.json<{ rows: Array<Record<string, unknown>> }>().rows.map((r) => r.terminal_stats__n)).toEqual([1, 0, 3]);

      const unequal = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { user_id: ['u1', 'u2'], merchant_id: ['1'] }, service: 'pair_v1' } });
      expect(unequal.statusCode).toBe(400);
      expect(unequal.body).toContain('user_id');
      expect(unequal.body).toContain('merchant_id');
      // Larger than one evaluation slice: the lengths are checked on the whole request.
      const long = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { user_id: Array(600).fill('u1'), merchant_id: Array(300).fill('1') }, service: 'pair_v1' } });
      expect(long.statusCode).toBe(400);
      expect(long.json<{ error: { message: string } }>().error.message).toContain('entities.user_id has 600, entities.merchant_id has 300');
      const missing = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { user_id: ['u1'] }, service: 'pair_v1' } });
      expect(missing.statusCode).toBe(400);
      expect(missing.json<{ error: { message: string } }>().error.message).toContain('"merchant_id"');
    } finally {
      await app.close();
      await platform.close();
    }

    const got = sluice(dir, 'get', '--entity', `user_id=${USERS.join(',')}`, '--entity', `merchant_id=${MERCHANTS.join(',')}`, '--service', 'pair_v1', '--json');
    expect(got.stderr).toBe('');
    const rows = got.json<{ rows: Array<Record<string, unknown>> }>().rows;
    expect(rows.map((r) => [r.user_id, r.merchant_id])).toEqual(USERS.map((u, i) => [u, MERCHANTS[i]]));
    expect(rows.map((r) => ({ n: r.pair_stats__n, total: r.pair_stats__total, last_txn: r.pair_stats__last_txn }))).toEqual(EXPECTED);
    const text = sluice(dir, 'get', '--entity', 'user_id=u1', '--entity', 'merchant_id=1', '--service', 'pair_v1');
    expect(text.stdout).toMatch(/user_id\s+merchant_id\s+pair_stats__n/);

    writeFileSync(join(dir, 'spine.csv'), ['user_id,merchant_id,ts', ...USERS.map((u, i) => `${u},${MERCHANTS[i]},${asOf}`)].join('\n'));
    const built = sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', '--service', 'pair_v1', '--out', 'out.jsonl');
    expect(built.stderr).toBe('');
    const offline = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(offline.map((r) => [r.user_id, r.merchant_id])).toEqual(USERS.map((u, i) => [u, MERCHANTS[i]]));
    expect(offline.map((r) => ({ n: r.pair_stats__n, total: r.pair_stats__total, last_txn: r.pair_stats__last_txn }))).toEqual(EXPECTED);
  });

  test('a spine without a key column and a get without a key name the missing one; a get with a key too many names it', () => {
    writeFileSync(join(dir, 'half.csv'), 'user_id,ts\nu1,2024-01-02T00:00:00Z\n');
    const built = sluice(dir, 'dataset', 'build', '--spine', 'half.csv', '--service', 'pair_v1', '--out', 'half-out.csv');
    expect(built.code).not.toBe(0);
    expect(built.stderr).toContain('"merchant_id"');
    const got = sluice(dir, 'get', '--entity', 'user_id=u1', '--service', 'pair_v1');
    expect(got.code).not.toBe(0);
    expect(got.stderr).toContain('"merchant_id"');
    // A third key beside the two (a typo of one of them) is refused by name, not ignored.
    const extra = sluice(dir, 'get', '--entity', 'user_id=u1', '--entity', 'merchant_id=1', '--entity', 'merchnt_id=2', '--service', 'pair_v1');
    expect(extra.code).toBe(1);
    expect(extra.stderr).toContain('error: entity key "merchnt_id" is not a join key of the requested features, which take "user_id", "merchant_id"');
  });

  test('a get with an empty key value (a doubled or trailing comma) is refused, not dropped: dropped, the other column\'s values would pair with the wrong ones', () => {
    const got = sluice(dir, 'get', '--entity', 'user_id=u1,,u2', '--entity', 'merchant_id=1,2,', '--service', 'pair_v1');
    expect([got.code, got.stderr]).toEqual([2, 'error: --entity user_id=u1,,u2: value 2 is empty; give every key value (an entity is the i-th value of each --entity)\nrun with --help for usage\n']);
  });
});
