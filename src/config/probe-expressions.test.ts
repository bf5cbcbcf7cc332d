import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, defineProject, entity, featureView, last, type FeatureViewSpec } from '../definitions/index.js';
import { DefinitionError } from '../errors.js';
import { probeExpressions } from './probe-expressions.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', timestamp: 'ts', schema: { account_id: 'string', channel: 'string', ts: 'timestamp' } });
const project = (view: Partial<FeatureViewSpec>) => {
  const spec = defineProject({
    name: 'p', entities: [account], sources: [payments],
    featureViews: [featureView({ name: 'v', entity: account, source: payments, features: { c: last('channel') }, ...view })],
  });
  return { spec, compiled: compileProject(spec) };
};

describe('row expressions: literal arguments DuckDB parses are checked before anything runs', () => {
  test.each([
    [{ filter: "regexp_matches(channel, '(')" }, 'filter', 1, /missing \)/],
    [{ columns: { d: { type: 'timestamp', sql: "date_trunc('fortnight', ts)" } } }, 'column "d": sql', 1, /fortnight/],
    [{ columns: { s: { type: 'string', sql: "upper(strftime(ts, '%Q'))" } } }, 'column "s": sql', 7, /%Q/],
  ] as const)('%j is refused at its position with DuckDB\'s reason', async (view, where, position, reason) => {
    const { spec, compiled } = project(view as Partial<FeatureViewSpec>);
    const error = await probeExpressions(spec, compiled).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).message).toContain(`feature view "v"${where === 'filter' ? ': filter' : `, ${where}`}`);
    expect((error as DefinitionError).message).toMatch(reason);
    expect((error as DefinitionError).details).toMatchObject({ position });
  });

  test('valid arguments pass', async () => {
    const { spec, compiled } = project({
      filter: "regexp_matches(channel, '^p(os|ay)$') AND strftime(ts, '%Y-%m') >= '2024-01'",
      columns: { h: { type: 'timestamp', sql: "date_trunc('hour', ts)" }, n: { type: 'int64', sql: "date_diff('day', ts, ts)" } },
    });
    await expect(probeExpressions(spec, compiled)).resolves.toBeUndefined();
  });
});
