import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, field, last, sum, type ProjectSpec } from './index.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'transactions', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const view = (name: string, features: Parameters<typeof featureView>[0]['features'], source = txns) => featureView({ name, entity: customer, source, features });
const project = (overrides: Partial<Omit<ProjectSpec, 'kind'>> = {}) =>
  defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [view('txn_stats', { n: count() })], ...overrides });
const raw = (spec: Record<string, unknown>) => () => compileProject({ kind: 'project', name: 'p', entities: [customer], sources: [txns], featureViews: [], ...spec } as unknown as ProjectSpec);

describe('names are looked up as own properties only', () => {
  test.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])('column %s is not in a source', (name) => {
    expect(() => project({ featureViews: [view('v', { n: count(name) })] })).toThrow(`column "${name}" is not in source "transactions"`);
    expect(() => project({ featureViews: [view('v', { n: last(name) })] })).toThrow(`column "${name}" is not in source "transactions"`);
  });
  test('a timestamp or join key named like an Object method is not in the schema', () => {
    expect(() => project({ sources: [batchSource({ name: 's', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'toString' })] })).toThrow('timestamp column "toString" is not in its schema');
    const odd = entity({ name: 'odd', joinKey: 'constructor' });
    expect(() => project({ entities: [customer, odd], featureViews: [featureView({ name: 'v', entity: odd, source: txns, features: { n: count() } })] })).toThrow(
      'source "transactions" has no column "constructor"',
    );
  });
  test('a service naming a feature like an Object method', () => {
    expect(() => project({ featureServices: [featureService({ name: 'svc', features: ['txn_stats:toString'] })] })).toThrow('view "txn_stats" has no feature "toString"');
    expect(() => project({ featureServices: [featureService({ name: 'svc', features: ['constructor:n'] })] })).toThrow('names view "constructor", which is not in the project');
  });
});

describe('names that collide, as DuckDB compares them (case-insensitively), are refused naming both', () => {
  test('source columns user_id and USER_ID', () => {
    const s = batchSource({ name: 's', schema: { user_id: 'string', USER_ID: 'string', ts: 'timestamp' }, timestamp: 'ts' });
    expect(() => project({ sources: [txns, s] })).toThrow('source "s": columns "user_id" and "USER_ID" collide (names are compared case-insensitively); rename one');
  });
  test('views stats and Stats', () => {
    expect(() => project({ featureViews: [view('stats', { s: sum('amount') }), view('Stats', { s: sum('amount') })] })).toThrow(
      'feature views "stats" and "Stats" collide (names are compared case-insensitively); rename one',
    );
  });
  test('features s and S in one view', () => {
    expect(() => project({ featureViews: [view('stats', { s: sum('amount'), S: count() })] })).toThrow(
      'feature view "stats": features "s" and "S" collide (names are compared case-insensitively); rename one',
    );
  });
  test('entities, sources and services', () => {
    expect(() => project({ entities: [customer, entity({ name: 'Customer', joinKey: 'customer_id' })] })).toThrow('entities "customer" and "Customer" collide');
    expect(() => project({ sources: [txns, batchSource({ name: 'TRANSACTIONS', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' })] })).toThrow('sources "transactions" and "TRANSACTIONS" collide');
    const svc = (name: string) => featureService({ name, features: ['txn_stats:n'] });
    expect(() => project({ featureServices: [svc('v1'), svc('V1')] })).toThrow('feature services "v1" and "V1" collide');
  });
  test('output columns <view>__<feature> that collide across views', () => {
    expect(() => project({ featureViews: [view('a_', { b: count() }), view('a', { _b: count() })] })).toThrow(
      'features "a_:b" and "a:_b" both give the output column "a___b"; rename one',
    );
  });
  test('exact duplicates are still named as duplicates', () => {
    expect(() => project({ sources: [txns, txns] })).toThrow('duplicate source name "transactions": names must be unique');
  });
});

describe('reserved names', () => {
  test('source columns may not start with "_", which Sluice keeps for its own columns', () => {
    const s = batchSource({ name: 's', schema: { customer_id: 'string', _ts: 'timestamp' }, timestamp: '_ts' });
    expect(() => project({ sources: [txns, s] })).toThrow('source "s": column "_ts" starts with "_", which is reserved for Sluice\'s internal columns; rename it');
  });
  test('view names start every output column, so they may not start with "_" either', () => {
    expect(() => project({ featureViews: [view('_stats', { n: count() })] })).toThrow('feature view "_stats" starts with "_", which is reserved for Sluice\'s internal columns; rename it');
  });
});

describe('malformed definitions get a DefinitionError, never a TypeError', () => {
  test.each([
    ['entities missing', { entities: undefined }, 'project "p": "entities" is missing; list the project\'s entities, e.g. entities: [customer]'],
    ['sources not a list', { sources: 'txns' }, 'project "p": "sources" must be a list of batchSource(...), streamSource(...) or cdcSource(...) definitions'],
    ['featureViews missing', { featureViews: undefined }, 'project "p": "featureViews" is missing'],
    ['featureServices not a list', { featureServices: {} }, 'project "p": "featureServices" must be a list of featureService(...) definitions'],
    ['an entity that is not one', { entities: [null] }, 'project "p": entities[0] is not an entity(...) definition'],
    ['a schema that is not an object', { sources: [{ ...txns, schema: 'x' }] }, 'source "transactions": schema must be an object of column name to type'],
    ['features that are not an object', { featureViews: [{ ...view('v', { n: count() }), features: [count()] }] }, 'feature view "v": features must be an object of feature name to feature'],
    ['a window that is a number', { featureViews: [view('v', { n: { ...count(), window: 1 } as never })] }, 'feature view "v", feature "n": window must be a duration string such as "24h", not 1'],
    ['a ttl that is a number', { featureViews: [{ ...view('v', { f: field('amount') }), ttl: 30 }] }, 'feature view "v": ttl must be a duration string such as "30d", not 30'],
    ['a column that is not a string', { featureViews: [view('v', { n: { ...sum('amount'), column: 3 } as never })] }, 'feature view "v", feature "n": column must be a column name string, not 3'],
  ])('%s', (_name, spec, message) => {
    expect(raw(spec as Record<string, unknown>)).toThrow(message);
  });
});

describe('composite join keys', () => {
  const pairs = batchSource({ name: 'pairs', schema: { user_id: 'string', merchant_id: 'int64', amount: 'float64', day: 'timestamp', ts: 'timestamp' }, timestamp: 'ts' });
  const pairProject = (e: ReturnType<typeof entity>) => () => defineProject({ name: 'p', entities: [e], sources: [pairs], featureViews: [featureView({ name: 'v', entity: e, source: pairs, features: { n: count() } })] });
  test('compile to joinKeys in order; a single joinKey is joinKeys of one, with its hash unchanged', () => {
    const compiled = compileProject(pairProject(entity({ name: 'pair', joinKeys: ['user_id', 'merchant_id'] }))());
    expect(compiled.entities[0]!.joinKeys).toEqual(['user_id', 'merchant_id']);
    expect(compiled.featureViews[0]!.joinKeys).toEqual(['user_id', 'merchant_id']);
    const single = compileProject(project());
    expect(single.entities[0]!.joinKeys).toEqual(['customer_id']);
    expect(compileProject(defineProject({ name: 'p', entities: [entity({ name: 'customer', joinKeys: ['customer_id'] })], sources: [txns], featureViews: [view('txn_stats', { n: count() })] })).hash).toBe(single.hash);
  });
  test('every key column must exist in the view\'s source, as string or int64, listed once', () => {
    expect(pairProject(entity({ name: 'pair', joinKeys: ['user_id', 'merchnt_id'] }))).toThrow('source "pairs" has no column "merchnt_id", a join key of entity "pair" (did you mean "merchant_id"?)');
    expect(pairProject(entity({ name: 'pair', joinKeys: ['user_id', 'day'] }))).toThrow('join key "day" is timestamp; it must be string or int64');
    expect(pairProject(entity({ name: 'pair', joinKeys: ['user_id', 'user_id'] }))).toThrow('entity "pair": join key "user_id" is listed twice');
    expect(pairProject(entity({ name: 'pair', joinKeys: [] }))).toThrow('entity "pair": it needs a join key');
    expect(raw({ entities: [{ kind: 'entity', name: 'e', joinKey: 'a', joinKeys: ['a'] }] })).toThrow('entity "e": give joinKey or joinKeys, not both');
  });
});
