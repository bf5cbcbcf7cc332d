import { afterEach, describe, expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureView, streamSource } from '../src/definitions/index.js';
import { checkRowTransforms } from '../src/processing/row-transforms.js';
import { tempPlatform } from './support/temp-platform.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const pay = streamSource({ name: 'pay', schema: { account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const project = (filter: string, sql = 'upper(channel)') =>
  defineProject({ name: 'x', entities: [account], sources: [pay], featureViews: [featureView({ name: 'v', entity: account, source: pay, filter, columns: { c: { type: 'string', sql } }, features: { n: count() } })] });

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('plan and apply bind row transforms in DuckDB', () => {
  // Each compiles (the constant is a string, as the signature wants) but DuckDB refuses it when it
  // binds: without this check it passed plan, then every push to the source failed (503) and so did materialize.
  test.each([
    ['filter', "regexp_matches(channel, '(')", 'upper(channel)', /feature view "v": filter .* does not run in DuckDB: .*missing \)/],
    ['filter', "date_trunc('fortnight', ts) > '2024-01-01'", 'upper(channel)', /feature view "v": filter .* does not run in DuckDB: .*"fortnight" not recognized/],
    ['column', "channel = 'pos'", "strftime(ts, '%Q')", /feature view "v": column "c" .* does not run in DuckDB: .*%Q/],
  ])('a %s DuckDB cannot compile is refused, naming the view and its message', async (_, filter, sql, message) => {
    const t = await tempPlatform(project("channel = 'pos'"));
    cleanup.push(t.dispose);
    await expect(checkRowTransforms(t.platform, compileProject(project(filter, sql)))).rejects.toThrow(message);
  });

  test('expressions that bind pass', async () => {
    const t = await tempPlatform(project("regexp_matches(channel, '^p') AND date_trunc('day', ts) > '2024-01-01'"));
    cleanup.push(t.dispose);
    await expect(checkRowTransforms(t.platform, t.project)).resolves.toBeUndefined();
  });
});
