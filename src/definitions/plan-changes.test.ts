import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, field, planChanges, sum, type ColumnType } from './index.js';

const BASE: Record<string, ColumnType> = { customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' };

interface Variant {
  schema?: Record<string, ColumnType>;
  timestamp?: string;
  sourceDescription?: string;
  path?: string;
  viewDescription?: string;
  features?: Parameters<typeof featureView>[0]['features'];
  ttl?: string;
  entityDescription?: string;
  filter?: string;
  columns?: Parameters<typeof featureView>[0]['columns'];
}

const build = (v: Variant = {}) => {
  const who = entity({ name: 'customer', joinKey: 'customer_id', ...(v.entityDescription ? { description: v.entityDescription } : {}) });
  const txns = batchSource({ name: 'transactions', schema: v.schema ?? BASE, timestamp: v.timestamp ?? 'ts', ...(v.sourceDescription ? { description: v.sourceDescription } : {}), ...(v.path ? { path: v.path } : {}) });
  const stats = featureView({
    name: 'txn_stats', entity: who, source: txns,
    features: v.features ?? { amount_sum_24h: sum('amount', { window: '24h' }), n: count({ window: '1h' }) },
    ...(v.viewDescription ? { description: v.viewDescription } : {}),
    ...(v.filter ? { filter: v.filter } : {}),
    ...(v.columns ? { columns: v.columns } : {}),
  });
  const profile = featureView({ name: 'profile', entity: who, source: txns, features: { merchant: field('merchant') }, ...(v.ttl ? { ttl: v.ttl } : {}) });
  return compileProject(defineProject({ name: 'p', entities: [who], sources: [txns], featureViews: [stats, profile], featureServices: [featureService({ name: 'svc', features: [stats] })] }));
};
const hashOf = (p: ReturnType<typeof build>, view: string) => p.featureViews.find((v) => v.name === view)!.hash;

describe('the view hash covers only what changes values', () => {
  test('descriptions, unread columns and equal durations leave it alone', () => {
    const a = build();
    for (const b of [
      build({ viewDescription: 'spend' }),
      build({ sourceDescription: 'card transactions' }),
      build({ entityDescription: 'a person' }),
      build({ schema: { ...BASE, channel: 'string' } }),
      build({ features: { amount_sum_24h: sum('amount', { window: '1d' }), n: count({ window: '60m' }) } }),
      // A derived column no feature reads: adding it took the view offline until rematerialized.
      build({ columns: { unused: { type: 'string', sql: 'upper(merchant)' } } }),
    ]) {
      expect(hashOf(b, 'txn_stats')).toBe(hashOf(a, 'txn_stats'));
      expect(hashOf(b, 'profile')).toBe(hashOf(a, 'profile'));
    }
  });
  test('a window, a function, a ttl on field features, a feature name change it', () => {
    const a = build();
    expect(hashOf(build({ features: { amount_sum_24h: sum('amount', { window: '48h' }), n: count({ window: '1h' }) } }), 'txn_stats')).not.toBe(hashOf(a, 'txn_stats'));
    expect(hashOf(build({ features: { amount_sum_24h: sum('amount', { window: '24h' }), m: count({ window: '1h' }) } }), 'txn_stats')).not.toBe(hashOf(a, 'txn_stats'));
    expect(hashOf(build({ ttl: '1d' }), 'profile')).not.toBe(hashOf(a, 'profile'));
  });
});

describe('plan shows what changes inside a definition, and its consequences', () => {
  test('a description change is a change that needs no rematerialization', () => {
    expect(planChanges(build(), build({ viewDescription: 'spend' }))).toEqual([
      { action: 'change', kind: 'featureView', name: 'txn_stats', details: ['description changed'], rematerialize: false, consequences: [] },
    ]);
  });
  test('a changed filter or derived column is shown, also when a feature is added in the same change', () => {
    // Only "feature m added" was shown: the filter change, which changes every feature, was hidden.
    const before = build({ filter: 'amount > 1', columns: { big: { type: 'bool', sql: 'amount > 100' } } });
    const after = build({ filter: 'amount > 2', columns: { big: { type: 'bool', sql: 'amount > 200' }, cents: { type: 'float64', sql: 'amount * 100' } }, features: { amount_sum_24h: sum('amount', { window: '24h' }), n: count({ window: '1h' }), m: count() } });
    const [change] = planChanges(before, after);
    expect(change).toMatchObject({ kind: 'featureView', name: 'txn_stats', rematerialize: true });
    expect(change!.details).toEqual([
      'feature m added',
      'filter coalesce(TRY(("amount" > 1)), false) -> coalesce(TRY(("amount" > 2)), false)',
      'derived column big TRY(CAST(("amount" > 100) AS BOOLEAN)) -> TRY(CAST(("amount" > 200) AS BOOLEAN))',
      'derived column cents added: TRY(CAST(("amount" * 100) AS DOUBLE))',
    ]);
  });
  test('a changed window: which feature, which property, rematerialize', () => {
    const changes = planChanges(build(), build({ features: { amount_sum_24h: sum('amount', { window: '48h' }), n: count({ window: '1h' }) } }));
    expect(changes).toEqual([
      { action: 'change', kind: 'featureView', name: 'txn_stats', details: ['feature amount_sum_24h window 24h -> 48h'], rematerialize: true, consequences: [] },
    ]);
  });
  test('removed and renamed features name the dataset columns they take away', () => {
    const changes = planChanges(build(), build({ features: { spend_24h: sum('amount', { window: '24h' }) } }));
    expect(changes[0]).toMatchObject({ kind: 'featureView', name: 'txn_stats', rematerialize: true });
    expect(changes[0]!.details).toEqual(['feature amount_sum_24h renamed to spend_24h', 'feature n removed']);
    expect(changes[0]!.consequences).toEqual(['dataset column txn_stats__amount_sum_24h renamed to txn_stats__spend_24h', 'dataset column txn_stats__n removed']);
  });
  test('an added source column is a change; the views that do not read it stay', () => {
    expect(planChanges(build(), build({ schema: { ...BASE, channel: 'string' } }))).toEqual([
      { action: 'change', kind: 'source', name: 'transactions', details: ['column channel (string) added; files ingested before read it as null'], consequences: [] },
    ]);
  });
  test('a moved source path is named as what changed: no view is changed or rematerialized (its values do not change)', () => {
    // Before 12-01 the plan said "definition changed" for the source, naming nothing.
    expect(planChanges(build({ path: 'data/old/*.csv' }), build({ path: 'data/new/*.csv' }))).toEqual([
      { action: 'change', kind: 'source', name: 'transactions', details: ['path data/old/*.csv -> data/new/*.csv'], consequences: [] },
    ]);
    expect(planChanges(build(), build({ path: 'data/t/*.csv' }))).toEqual([
      { action: 'change', kind: 'source', name: 'transactions', details: ['path none -> data/t/*.csv'], consequences: [] },
    ]);
    // Every property of a source is named: none falls back to "definition changed".
    const before = build();
    const after = { ...before, sources: before.sources.map((x) => ({ ...x, freshness: '1h', retention: '30d', eventId: 'merchant' })) };
    expect(planChanges(before, after).map((c) => [c.kind, c.details])).toEqual([['source', ['eventId none -> merchant', 'freshness none -> 1h', 'retention none -> 30d']]]);
  });
  test('removing or retyping a column, or changing the timestamp column, is refused with what to do instead', () => {
    const { amount: _a, ...withoutAmount } = BASE;
    void _a;
    const removed = planChanges(build(), build({ schema: withoutAmount, features: { n: count({ window: '1h' }) } })).find((c) => c.kind === 'source');
    expect(removed?.refused?.[0]).toMatch(/column "amount" cannot be removed.*keep it in the schema/);
    const retyped = planChanges(build(), build({ schema: { ...BASE, amount: 'int64' } })).find((c) => c.kind === 'source');
    expect(retyped?.refused?.[0]).toMatch(/column "amount" cannot change type from float64 to int64.*add a new column/);
    const moved = planChanges(build(), build({ schema: { ...BASE, ts2: 'timestamp' }, timestamp: 'ts2' })).find((c) => c.kind === 'source');
    expect(moved?.refused?.[0]).toMatch(/timestamp column cannot change from "ts" to "ts2".*new source/);
  });
  test('nothing changed, nothing planned; a new project is all adds', () => {
    expect(planChanges(build(), build())).toEqual([]);
    expect(planChanges(undefined, build()).every((c) => c.action === 'add')).toBe(true);
  });
});
