import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, sum, type DriftThreshold } from './index.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const withDrift = (drift: Record<string, DriftThreshold>) =>
  defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), total: sum('amount') }, drift: drift as never })] });

describe('drift thresholds and the serving log rate in the definitions', () => {
  test('thresholds take the defaults for what is not given, and stay outside the view hash', () => {
    const plain = defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), total: sum('amount') } })] });
    const configured = withDrift({ total: { warn: 0.2, metric: 'js' } });
    expect(configured.featureViews[0]!.drift).toEqual({ total: { warn: 0.2, metric: 'js' } });
    const compiled = compileProject(configured);
    expect(compiled.featureViews[0]!.drift).toEqual({ total: { warn: 0.2, error: 0.25, metric: 'js' } });
    expect(compiled.featureViews[0]!.hash).toBe(compileProject(plain).featureViews[0]!.hash);
  });

  test('bad thresholds are refused naming the view, the feature and the fix', () => {
    expect(() => withDrift({ totl: { warn: 0.1 } })).toThrow('feature view "stats": drift names feature "totl", which the view does not have (did you mean "total"?)');
    expect(() => withDrift({ total: { warn: 0.3, error: 0.2 } })).toThrow('feature view "stats": drift of "total": thresholds need 0 < warn <= error (got warn 0.3, error 0.2)');
    expect(() => withDrift({ total: { warn: 0 } })).toThrow('thresholds need 0 < warn <= error');
    expect(() => withDrift({ total: { metric: 'kl' as 'psi' } })).toThrow('feature view "stats": drift of "total": metric must be "psi" or "js", not "kl"');
  });

  test('a service log rate is a number from 0 to 1, outside the service hash', () => {
    const view = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
    const project = (log?: { sampleRate: number }) => defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [view], featureServices: [featureService({ name: 's', features: [view], ...(log ? { log } : {}) })] });
    expect(compileProject(project({ sampleRate: 0.1 })).featureServices[0]).toMatchObject({ log: { sampleRate: 0.1 }, hash: compileProject(project()).featureServices[0]!.hash });
    expect(() => project({ sampleRate: 1.5 })).toThrow('feature service "s": log.sampleRate must be a number from 0 to 1');
  });
});
