import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureView, field, max, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { materialize } from '../src/processing/materialize.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { createServer } from '../src/serving/http/server.js';
import { tempPlatform } from './support/temp-platform.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const account = entity({ name: 'account', joinKey: 'account_id' });
const balances = batchSource({ name: 'balances', schema: { account_id: 'string', cents: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const view = featureView({ name: 'bal', entity: account, source: balances, features: { cents: field('cents'), top: max('cents'), total: sum('cents') } });
const spec = defineProject({ name: 'p', entities: [account], sources: [balances], featureViews: [view] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 3_600_000);
  writeFileSync(join(env.dir, 'b.csv'), ['account_id,cents,ts', 'a1,9223372036854775806,2024-01-01T00:00:00Z', 'a1,9223372036854775807,2024-01-01T00:01:00Z', 'a1,-9223372036854775808,2024-01-01T00:02:00Z', 'a1,9007199254740993,2024-01-01T00:03:00Z'].join('\n'));
  await ingestFile(env.platform, env.project, 'balances', join(env.dir, 'b.csv'));
  await materialize(env.platform, env.project);
});
afterEach(async () => env.dispose());

// The exact sum 9223372036854775806 + 9223372036854775807 - 9223372036854775808 + 9007199254740993,
// rounded once to a double.
const TOTAL = Number(9223372036854775806n + 9223372036854775807n - 9223372036854775808n + 9007199254740993n);

test('int64 beyond 2^53 is served with all its digits, and equals the dataset value', async () => {
  const app = await createServer(env.platform);
  try {
    const res = await app.inject({ method: 'POST', url: '/v1/features/online', payload: { entities: { account_id: ['a1'] }, features: ['bal:cents', 'bal:top', 'bal:total'] } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('"bal__cents":9007199254740993');
    expect(res.body).toContain('"bal__top":9223372036854775807');
    expect(res.json().rows[0].bal__total).toBe(TOTAL);
  } finally {
    await app.close();
  }
  const spine = join(env.dir, 'spine.csv');
  writeFileSync(spine, `account_id,ts\na1,${new Date(T0 + 3_600_000).toISOString()}\n`);
  const out = join(env.dir, 'out.csv');
  await buildDataset(env.platform, env.project, { spine, out, features: ['bal:cents', 'bal:top', 'bal:total'] });
  const [, row] = readFileSync(out, 'utf8').trim().split('\n');
  const [, , cents, top, total] = row!.split(',');
  expect([cents, top, Number(total)]).toEqual(['9007199254740993', '9223372036854775807', TOTAL]);
});
