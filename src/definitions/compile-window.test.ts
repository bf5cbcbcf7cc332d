import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, field, planChanges, sum, type FeatureSpec, type ProjectSpec } from './index.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'transactions', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const compile = (features: Record<string, FeatureSpec>) =>
  compileProject(defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features })] }));
const raw = (feature: Record<string, unknown>) => () =>
  compileProject({ kind: 'project', name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'stats', entity: customer, source: txns, features: { f: feature as unknown as FeatureSpec } })] } as ProjectSpec);

describe('hopped windows: window: "30d", hop: "1h"', () => {
  test('compile to a window and a hop in milliseconds', () => {
    const [f] = compile({ spend: sum('amount', { window: '30d', hop: '1h' }) }).featureViews[0]!.features;
    expect(f).toMatchObject({ window: '30d', windowMs: 30 * 86_400_000, hop: '1h', hopMs: 3_600_000 });
    const [exact] = compile({ spend: sum('amount', { window: '30d' }) }).featureViews[0]!.features;
    expect(exact).not.toHaveProperty('hop');
    expect(exact).not.toHaveProperty('hopMs');
    // A hop as long as the window is allowed: the previous whole period plus the current one so far.
    expect(compile({ n: count({ window: '1d', hop: '1d' }) }).featureViews[0]!.features[0]).toMatchObject({ hopMs: 86_400_000 });
  });

  test.each([
    ['a hop without a window', count({ hop: '1h' }), 'feature view "stats", feature "f": hop "1h" needs a window; give both, e.g. { window: \'30d\', hop: \'1h\' }'],
    ['a hop on field()', { ...field('amount'), hop: '1h' }, 'feature view "stats", feature "f": field() takes no window or hop; set a ttl on the view instead'],
    ['a hop longer than the window', sum('amount', { window: '1h', hop: '2h' }), 'feature view "stats", feature "f": hop "2h" is longer than window "1h"; use a hop of at most the window, e.g. "30m"'],
    ['a window that is not a whole number of hops', sum('amount', { window: '30d', hop: '7d' }), 'feature view "stats", feature "f": window "30d" is not a whole number of hops of "7d"; use a hop that divides the window, e.g. "6d"'],
    ['minutes that do not divide an hour', count({ window: '1h', hop: '7m' }), 'window "1h" is not a whole number of hops of "7m"; use a hop that divides the window, e.g. "6m"'],
    ['a zero hop', count({ window: '1h', hop: '0m' }), 'feature view "stats", feature "f": hop "0m" is not a duration; write a positive number and a unit (ms, s, m, h, d), e.g. "1h"'],
    ['a negative hop', count({ window: '1h', hop: '-1m' }), 'hop "-1m" is not a duration'],
    ['a hop that is a number', { ...count({ window: '1h' }), hop: 60_000 }, 'feature view "stats", feature "f": hop must be a duration string such as "1h", not 60000'],
  ])('refuse %s, naming the fix', (_name, feature, message) => {
    expect(raw(feature as unknown as Record<string, unknown>)).toThrow(message);
  });

  test('the hop is part of the value signature: it changes the view hash, and plan shows it', () => {
    const exact = compile({ spend: sum('amount', { window: '30d' }) });
    const hourly = compile({ spend: sum('amount', { window: '30d', hop: '1h' }) });
    const daily = compile({ spend: sum('amount', { window: '30d', hop: '1d' }) });
    const hashes = [exact, hourly, daily].map((p) => p.featureViews[0]!.hash);
    expect(new Set(hashes).size).toBe(3);
    // How a duration is written does not matter.
    expect(compile({ spend: sum('amount', { window: '720h', hop: '60m' }) }).featureViews[0]!.hash).toBe(hashes[1]);
    expect(planChanges(exact, hourly)).toEqual([
      { action: 'change', kind: 'featureView', name: 'stats', details: ['feature spend hop none -> 1h'], rematerialize: true, consequences: [] },
    ]);
    expect(planChanges(hourly, daily)[0]!.details).toEqual(['feature spend hop 1h -> 1d']);
    // A renamed hopped feature is a rename, not a removal.
    expect(planChanges(hourly, compile({ spend_30d: sum('amount', { window: '30d', hop: '1h' }) }))[0]!.details).toEqual(['feature spend renamed to spend_30d']);
  });
});
