import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, field, planChanges, sum, type ProjectSpec } from './index.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'transactions', schema: { customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const view = (features: Parameters<typeof featureView>[0]['features'], extra: Partial<Parameters<typeof featureView>[0]> = {}) =>
  featureView({ name: 'txn_stats', entity: customer, source: txns, features, ...extra });
const project = (overrides: Partial<Omit<ProjectSpec, 'kind'>> = {}) =>
  defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [view({ n: count({ window: '1h' }) })], ...overrides });

describe('validation names the definition and the fix', () => {
  test('unknown column, with a suggestion', () => {
    expect(() => project({ featureViews: [view({ s: sum('amout', { window: '1h' }) })] })).toThrow(
      'feature view "txn_stats", feature "s": column "amout" is not in source "transactions" (did you mean "amount"?)',
    );
  });
  test('wrong type for an aggregation', () => {
    expect(() => project({ featureViews: [view({ s: sum('merchant') })] })).toThrow(/sum\(\) needs a numeric column, but "merchant" is string/);
  });
  test('duplicate names', () => {
    expect(() => project({ sources: [txns, txns] })).toThrow('duplicate source name "transactions": names must be unique');
  });
  test('bad window and bad ttl', () => {
    expect(() => project({ featureViews: [view({ n: count({ window: '7x' }) })] })).toThrow(/window "7x" is not a duration/);
    expect(() => project({ featureViews: [view({ n: count() }, { ttl: 'soon' })] })).toThrow(/ttl "soon" is not a duration/);
  });
  test('feature service pointing at nothing', () => {
    expect(() => project({ featureServices: [featureService({ name: 'svc', features: ['txn_stat:n'] })] })).toThrow(
      'feature service "svc": "txn_stat:n" names view "txn_stat", which is not in the project (did you mean "txn_stats"?)',
    );
    expect(() => project({ featureServices: [featureService({ name: 'svc', features: ['txn_stats:nn'] })] })).toThrow(/has no feature "nn"/);
  });
  test('join key missing from the source, timestamp not a timestamp', () => {
    const other = entity({ name: 'merchant', joinKey: 'merchant_id' });
    expect(() => project({ entities: [customer, other], featureViews: [featureView({ name: 'm', entity: other, source: txns, features: { n: count() } })] })).toThrow(
      /has no column "merchant_id", the join key of entity "merchant"/,
    );
    const bad = batchSource({ name: 'b', schema: { customer_id: 'string', ts: 'string' }, timestamp: 'ts' });
    expect(() => project({ sources: [txns, bad] })).toThrow(/timestamp column "ts" has type "string"/);
  });
  test('field takes no window', () => {
    expect(() => project({ featureViews: [view({ f: { ...field('amount'), window: '1h' } })] })).toThrow(/field\(\) takes no window/);
  });
});

describe('hashes and plans', () => {
  test('the content hash is stable and changes with the definition', () => {
    const a = compileProject(project());
    expect(compileProject(project()).hash).toBe(a.hash);
    const b = compileProject(project({ featureViews: [view({ n: count({ window: '2h' }) })] }));
    expect(b.featureViews[0]!.hash).not.toBe(a.featureViews[0]!.hash);
    expect(b.entities[0]!.hash).toBe(a.entities[0]!.hash);
    expect(planChanges(a, b)).toMatchObject([{ action: 'change', kind: 'featureView', name: 'txn_stats', rematerialize: true }]);
    expect(planChanges(undefined, a).every((c) => c.action === 'add')).toBe(true);
    expect(planChanges(a, a)).toEqual([]);
  });
  test('compiled projects are frozen plain data', () => {
    const p = compileProject(project());
    expect(Object.isFrozen(p.featureViews[0]!.features[0])).toBe(true);
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });
});
