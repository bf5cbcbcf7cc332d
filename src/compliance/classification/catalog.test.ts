import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { withParsedLineage } from '../../config/parse-transform-lineage.js';
import {
  batchSource, cdcSource, compileProject, count, dataset, declassify, defineProject, entity, featureService, featureView, field, last, pii, requestView, sqlTransform,
  streamSource, sum, tags, env, postgresTable, type ProjectSpec,
} from '../../definitions/index.js';
import { classificationCatalog, isClassified } from './catalog.js';

const customerSchema = { customer_id: 'string', email: 'string', zip: 'string', note: 'string', age: 'int64', ts: 'timestamp' } as const;
const txnSchema = { txn_id: 'string', customer_id: 'string', amount: 'float64', merchant: 'string', ts: 'timestamp' } as const;

function spec(classified: boolean): ProjectSpec {
  const customer = entity({ name: 'customer', joinKey: 'customer_id', ...(classified ? { classify: pii('direct', { tags: ['subject'] }) } : {}) });
  const customers = batchSource({
    name: 'customers', schema: customerSchema, timestamp: 'ts',
    ...(classified ? { classify: { email: pii('direct', { tags: ['contact'] }), zip: pii('quasi'), note: tags('free-text'), age: pii('sensitive') } } : {}),
  });
  const txns = streamSource({ name: 'txns', schema: txnSchema, timestamp: 'ts', ...(classified ? { classify: { merchant: tags('financial') } } : {}) });
  const accounts = cdcSource({ name: 'accounts', key: 'customer_id', schema: { customer_id: 'string', phone: 'string' }, ...(classified ? { classify: { phone: pii('direct') } } : {}) });
  const enriched = sqlTransform({
    name: 'enriched', inputs: [txns, customers],
    sql: 'SELECT t.customer_id, t.amount, lower(c.email) AS contact, c.zip, t.ts FROM txns t JOIN customers c USING (customer_id)',
    timestamp: 'ts', schema: { customer_id: 'string', amount: 'float64', contact: 'string', zip: 'string', ts: 'timestamp' },
    ...(classified ? { classify: { zip: declassify('only the first two digits are kept downstream') } } : {}),
  });
  const profile = featureView({
    name: 'profile', entity: customer, source: customers,
    columns: { domain: { type: 'string', sql: "split_part(email, '@', 2)" }, decade: { type: 'int64', sql: 'age - age % 10' } },
    features: {
      email: field('email'), zip: last('zip'), domain: last('domain'), note: last('note'), decade: last('decade'),
      emails: count('email', classified ? { window: '30d', classify: declassify('a count identifies no one') } : { window: '30d' }),
      n: count(),
    },
  });
  const spend = featureView({ name: 'spend', entity: customer, source: enriched, features: { total: sum('amount'), contact: last('contact'), zip: last('zip') } });
  const phone = featureView({ name: 'phone', entity: customer, source: accounts, features: { phone: field('phone') } });
  const risk = requestView({ name: 'risk', request: { amount: 'float64' }, inputs: [spend], types: { score: 'float64' }, features: { score: ({ spend: s }) => s.total }, ...(classified ? { classify: { score: declassify('a model score') } } : {}) });
  const risky = requestView({ name: 'risky', request: { amount: 'float64' }, inputs: [profile], types: { label: 'string' }, features: { label: ({ profile: p }) => p.zip } });
  return defineProject({
    name: 'shop', entities: [customer], sources: [customers, txns, accounts], transforms: [enriched], featureViews: [profile, spend, phone], requestViews: [risk, risky],
    featureServices: [featureService({ name: 'crm', features: [profile, 'phone:phone', risky] })],
    datasets: [dataset({ name: 'train', service: 'crm', spine: 'data/spine.csv', out: 'datasets/train.parquet' })],
  });
}

describe('classification is outside every hash', () => {
  test('adding classifications changes no entity, source, transform, view, service or project hash', () => {
    const plain = compileProject(spec(false));
    const classified = compileProject(spec(true));
    expect(classified.hash).toBe(plain.hash);
    for (const key of ['entities', 'sources', 'featureViews', 'featureServices', 'transforms', 'requestViews'] as const) {
      expect((classified[key] ?? []).map((d) => d.hash)).toEqual((plain[key] ?? []).map((d) => d.hash));
    }
    expect(plain.sources.every((s) => s.classify === undefined)).toBe(true);
    expect(classified.sources.find((s) => s.name === 'customers')?.classify?.email).toEqual({ level: 'direct', tags: ['contact'] });
  });
});

describe('propagation through lineage', () => {
  // As a loaded project has it: each SQL transform's column lineage read from DuckDB's parse tree.
  let catalog: ReturnType<typeof classificationCatalog>;
  beforeAll(async () => {
    catalog = classificationCatalog(await withParsedLineage(compileProject(spec(true))));
  });

  test('source columns carry what they declare', () => {
    expect(catalog.column('customers', 'email')).toMatchObject({ place: 'source-column', level: 'direct', tags: ['contact'], derivedFrom: ['source:customers.email'] });
    expect(catalog.column('customers', 'note')).toMatchObject({ tags: ['free-text'], derivedFrom: ['source:customers.note'] });
    expect(catalog.column('customers', 'note')?.level).toBeUndefined();
    expect(catalog.column('customers', 'amount')).toBeUndefined();
    expect(catalog.column('accounts', 'phone')).toMatchObject({ level: 'direct' });
  });

  test('a SQL transform column inherits from the input columns it is computed from; an override with a reason is recorded', () => {
    expect(catalog.column('enriched', 'contact')).toMatchObject({ place: 'transform-column', level: 'direct', tags: ['contact'], derivedFrom: ['source:customers.email'] });
    expect(catalog.column('enriched', 'amount')).toBeUndefined();
    expect(catalog.column('enriched', 'zip')).toMatchObject({ declassified: true, overridden: true, reason: 'only the first two digits are kept downstream', derivedFrom: ['source:customers.zip'] });
    expect(isClassified(catalog.column('enriched', 'zip'))).toBe(false);
  });

  test('features inherit from the column they read, derived columns from the columns their SQL reads', () => {
    expect(catalog.feature('profile', 'email')).toMatchObject({ place: 'feature', level: 'direct', derivedFrom: ['source:customers.email'] });
    expect(catalog.feature('profile', 'zip')).toMatchObject({ level: 'quasi' });
    expect(catalog.feature('profile', 'domain')).toMatchObject({ level: 'direct', derivedFrom: ['source:customers.email'] });
    expect(catalog.feature('profile', 'decade')).toMatchObject({ level: 'sensitive', derivedFrom: ['source:customers.age'] });
    expect(catalog.feature('profile', 'note')).toMatchObject({ tags: ['free-text'] });
    expect(catalog.feature('profile', 'n')).toBeUndefined();
    expect(catalog.feature('profile', 'emails')).toMatchObject({ declassified: true, reason: 'a count identifies no one' });
    expect(catalog.feature('spend', 'contact')).toMatchObject({ level: 'direct', derivedFrom: ['source:customers.email'] });
    expect(catalog.feature('spend', 'zip')).toBeUndefined();
    expect(catalog.feature('phone', 'phone')).toMatchObject({ level: 'direct', derivedFrom: ['source:accounts.phone'] });
  });

  test('request views inherit from their input views; services and datasets from their features; key columns from the entity', () => {
    expect(catalog.feature('risky', 'label')).toMatchObject({ place: 'request-feature', level: 'sensitive', tags: ['contact', 'free-text'] });
    expect(catalog.feature('risk', 'score')).toMatchObject({ declassified: true, reason: 'a model score' });
    const service = catalog.entries().filter((e) => e.place === 'service-feature' && e.owner === 'crm').map((e) => e.column);
    expect(service).toEqual(expect.arrayContaining(['profile__email', 'phone__phone', 'risky__label']));
    expect(catalog.datasetColumn('train', 'profile__email')).toMatchObject({ place: 'dataset-column', id: 'dataset:train.profile__email', level: 'direct', derivedFrom: ['source:customers.email'] });
    expect(catalog.datasetColumn('train', 'customer_id')).toMatchObject({ level: 'direct', tags: ['subject'], derivedFrom: ['entity:customer'] });
    expect(catalog.keyColumn('profile', 'customer_id')).toMatchObject({ place: 'key-column', derivedFrom: ['entity:customer'] });
    expect(catalog.datasetColumn('train', 'profile__n')).toBeUndefined();
  });
});

describe('refusals name the place and the fix', () => {
  const customers = batchSource({ name: 'customers', schema: customerSchema, timestamp: 'ts', classify: { email: pii('direct') } });
  const customer = entity({ name: 'customer', joinKey: 'customer_id' });
  const project = (features: Parameters<typeof featureView>[0]['features']) =>
    compileProject(defineProject({ name: 'p', entities: [customer], sources: [customers], featureViews: [featureView({ name: 'profile', entity: customer, source: customers, features })] }));

  test('an unknown column in classify, with a suggestion', () => {
    expect(() => batchSourceWith({ emial: pii('direct') })).toThrow('source "customers": classify names column "emial", which is not in its schema (did you mean "email"?)');
  });
  test('lowering an inherited level without a reason', () => {
    expect(() => classificationCatalog(project({ e: field('email', { classify: pii('quasi') }) }))).toThrow(
      'feature view "profile", feature "e": classify lowers what it inherits (pii direct, from source:customers.email) to pii quasi; record why',
    );
    expect(classificationCatalog(project({ e: field('email', { classify: pii('quasi', { reason: 'hashed upstream' }) }) })).feature('profile', 'e')).toMatchObject({ level: 'quasi', reason: 'hashed upstream', overridden: true });
    expect(classificationCatalog(project({ e: field('email', { classify: pii('sensitive') }) })).feature('profile', 'e')).toMatchObject({ level: 'sensitive' });
  });
  test('declassify needs a reason, levels are checked', () => {
    expect(() => declassifyWithout()).toThrow('declassify needs a reason');
    expect(() => batchSourceWith({ email: { kind: 'classification', level: 'secret' } })).toThrow('pii level "secret" is not one of direct, quasi, sensitive');
  });

  function batchSourceWith(classify: Record<string, unknown>) {
    const s = batchSource({ name: 'customers', schema: customerSchema, timestamp: 'ts', classify: classify as never });
    return defineProject({ name: 'p', entities: [customer], sources: [s], featureViews: [featureView({ name: 'v', entity: customer, source: s, features: { n: count() } })] });
  }
  function declassifyWithout() {
    return project({ e: field('email', { classify: { kind: 'classification', declassify: true } }) });
  }
});

describe('property: a feature inherits exactly what the columns it reads declare', () => {
  const LEVELS = ['quasi', 'direct', 'sensitive'] as const;
  const columns = ['a', 'b', 'c', 'vec'] as const;
  test('random declarations, random derived columns over them', () => {
    fc.assert(fc.property(
      fc.record({ a: fc.option(fc.constantFrom(...LEVELS)), b: fc.option(fc.constantFrom(...LEVELS)), c: fc.option(fc.constantFrom(...LEVELS)), vec: fc.option(fc.constantFrom(...LEVELS)) }),
      fc.subarray(['a', 'b', 'c'] as const, { minLength: 1 }),
      (declared, reads) => {
        const customer = entity({ name: 'customer', joinKey: 'id' });
        const classify = Object.fromEntries(Object.entries(declared).flatMap(([c, level]) => (level === null ? [] : [[c, pii(level, { tags: [`t_${c}`] })]])));
        const s = batchSource({ name: 's', schema: { id: 'string', a: 'string', b: 'string', c: 'string', vec: 'float32[4]', ts: 'timestamp' }, timestamp: 'ts', classify });
        const v = featureView({
          name: 'v', entity: customer, source: s, columns: { d: { type: 'string', sql: `concat(${reads.join(', ')})` } },
          features: { d: last('d'), vec: field('vec'), ...Object.fromEntries(columns.filter((c) => c !== 'vec').map((c) => [`f_${c}`, count(c)])) },
        });
        const catalog = classificationCatalog(compileProject(defineProject({ name: 'p', entities: [customer], sources: [s], featureViews: [v] })));
        const expected = (cols: readonly string[]) => {
          const levels = cols.map((c) => declared[c as keyof typeof declared]).filter((l): l is (typeof LEVELS)[number] => l !== null);
          return levels.length === 0 ? undefined : { level: LEVELS[Math.max(...levels.map((l) => LEVELS.indexOf(l)))], tags: levels.length === 0 ? [] : cols.filter((c) => declared[c as keyof typeof declared] !== null).map((c) => `t_${c}`).sort() };
        };
        const got = (e: ReturnType<typeof catalog.feature>) => (e === undefined ? undefined : { level: e.level, tags: e.tags });
        expect(got(catalog.feature('v', 'd'))).toEqual(expected(reads));
        expect(got(catalog.feature('v', 'vec'))).toEqual(expected(['vec']));
        for (const c of ['a', 'b', 'c']) expect(got(catalog.feature('v', `f_${c}`))).toEqual(expected([c]));
      },
    ), { numRuns: 60 });
  });
});

test('a postgresTable source and a transform override: the same rules', () => {
  const customer = entity({ name: 'customer', joinKey: 'customer_id' });
  const table = batchSource({
    name: 'crm', schema: { customer_id: 'string', phone: 'string', updated_at: 'timestamp' }, timestamp: 'updated_at',
    connector: postgresTable({ connection: env('CRM_URL'), table: 'public.customers', cursor: 'updated_at', key: 'customer_id' }),
    classify: { phone: pii('direct') },
  });
  const masked = (classify: Parameters<typeof sqlTransform>[0]['classify']) => sqlTransform({
    name: 'masked', inputs: [table], sql: 'SELECT customer_id, right(phone, 4) AS phone_tail, updated_at FROM crm', timestamp: 'updated_at',
    schema: { customer_id: 'string', phone_tail: 'string', updated_at: 'timestamp' }, ...(classify === undefined ? {} : { classify }),
  });
  const build = (t: ReturnType<typeof masked>) => classificationCatalog(compileProject(defineProject({ name: 'p', entities: [customer], sources: [table], transforms: [t], featureViews: [featureView({ name: 'v', entity: customer, source: t, features: { tail: last('phone_tail') } })] })));
  expect(build(masked(undefined)).feature('v', 'tail')).toMatchObject({ level: 'direct', derivedFrom: ['source:crm.phone'] });
  expect(() => build(masked({ phone_tail: pii('quasi') }))).toThrow('transform "masked", column "phone_tail": classify lowers what it inherits (pii direct, from source:crm.phone) to pii quasi; record why');
  const tail = build(masked({ phone_tail: pii('quasi', { reason: 'last four digits only' }) }));
  expect(tail.column('masked', 'phone_tail')).toMatchObject({ level: 'quasi', overridden: true, overrides: ['source:crm.phone'], reason: 'last four digits only', derivedFrom: ['transform:masked.phone_tail'] });
  expect(tail.feature('v', 'tail')).toMatchObject({ level: 'quasi', derivedFrom: ['transform:masked.phone_tail'] });
});

test('a transform without a parsed lineage (SQL DuckDB does not serialize, a project applied before it was stored): every output column comes from every input column', () => {
  const catalog = classificationCatalog(compileProject(spec(true)));
  expect(catalog.column('enriched', 'amount')).toMatchObject({ place: 'transform-column', derivedFrom: expect.arrayContaining(['source:customers.email', 'source:txns.merchant']) });
  expect(isClassified(catalog.column('enriched', 'amount'))).toBe(true);
});
