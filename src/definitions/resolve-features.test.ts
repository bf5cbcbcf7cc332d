import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, last } from './index.js';
import { resolveFeatures, unknownFeatureError } from './resolve-features.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const project = compileProject(defineProject({
  name: 'p', entities: [customer], sources: [txns],
  featureViews: [featureView({ name: 'txn_stats', entity: customer, source: txns, features: { n_1h: count({ window: '1h' }), last_amount: last('amount') } })],
}));
const resolve = (...features: string[]) => () => resolveFeatures(project, { features });

describe('feature names in a request', () => {
  test('"view:feature" resolves to its output column', () => {
    expect(resolveFeatures(project, { features: ['txn_stats:n_1h'] }).columns).toEqual(['txn_stats__n_1h']);
  });

  test('a name that is not "view:feature" is refused as written, with the fix, never read in part', () => {
    expect(resolve('txn_stats:n_1h:x')).toThrow('feature "txn_stats:n_1h:x" is not "view:feature" (one ":" between a view and one of its features)');
    expect(resolve('txn_stats')).toThrow('feature "txn_stats" is not "view:feature": "txn_stats" is a view; name its features as "txn_stats:n_1h", "txn_stats:last_amount"');
    expect(resolve('txn_stats__last_amount')).toThrow('feature "txn_stats__last_amount" is not "view:feature" (did you mean "txn_stats:last_amount"? "txn_stats__last_amount" is its output column)');
    expect(resolve('amount')).toThrow('feature "amount" is not "view:feature" (one ":" between a view and one of its features)');
  });

  test('a view named as a service says it is a view and how to name its features (review rev4 finding 12)', () => {
    expect(() => resolveFeatures(project, { service: 'txn_stats' })).toThrow('feature service "txn_stats" is not in the registry: "txn_stats" is a view; name its features as "txn_stats:n_1h", "txn_stats:last_amount" (--features, or "features" in a request)');
    expect(unknownFeatureError(project, { service: 'txn_stats' }, (f) => f === 'txn_stats:n_1h')?.message).toBe('feature service "txn_stats" is not in the registry: "txn_stats" is a view; name its features as "txn_stats:n_1h" (--features, or "features" in a request)');
    expect(unknownFeatureError(project, { service: 'txn_stats' }, () => false)?.message).toBe('feature service "txn_stats" is not in the registry');
  });
});

describe('a refused read names what is wrong as a read allowed would (unknownFeatureError, access control on)', () => {
  const unknown = (visible: (f: string) => boolean, ...features: string[]) => unknownFeatureError(project, { features }, visible)?.message;
  test('a name that is not "view:feature" gets the same message, listing only the features the caller may read (review rev-b: a 403 advised a rule on "txn_stats:n_1h:x")', () => {
    const onlyN = (f: string) => f === 'txn_stats:n_1h';
    expect(unknown(onlyN, 'txn_stats:n_1h:x')).toBe('feature "txn_stats:n_1h:x" is not "view:feature" (one ":" between a view and one of its features)');
    expect(unknown(onlyN, 'txn_stats')).toBe('feature "txn_stats" is not "view:feature": "txn_stats" is a view; name its features as "txn_stats:n_1h"');
    expect(unknown(onlyN, 'txn_stats__n_1h')).toBe('feature "txn_stats__n_1h" is not "view:feature" (did you mean "txn_stats:n_1h"? "txn_stats__n_1h" is its output column)');
    // An output column the caller may not read is not named.
    expect(unknown(onlyN, 'txn_stats__last_amount')).toBe('feature "txn_stats__last_amount" is not "view:feature" (one ":" between a view and one of its features)');
    expect(unknown(onlyN, 'txn_stats:n_1h')).toBeUndefined();
  });
});
