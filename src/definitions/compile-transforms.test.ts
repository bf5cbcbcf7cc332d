import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, field, sqlTransform, transformOrder, type ProjectSpec, type SqlTransformSpec } from './index.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const crm = batchSource({ name: 'crm_accounts', schema: { account_id: 'string', tier: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const invoices = batchSource({ name: 'billing_invoices', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const transform = (name: string, inputs: SqlTransformSpec['inputs'], extra: Partial<Parameters<typeof sqlTransform>[0]> = {}) =>
  sqlTransform({ name, inputs, sql: `SELECT account_id, ts FROM ${inputs[0]?.name ?? "x"}`, timestamp: 'ts', schema: { account_id: 'string', ts: 'timestamp' }, ...extra });
const project = (transforms: readonly SqlTransformSpec[], overrides: Partial<Omit<ProjectSpec, 'kind'>> = {}) =>
  compileProject({ kind: 'project', name: 'p', entities: [account], sources: [crm, invoices], featureViews: [], transforms, ...overrides });

describe('SQL transforms compile into the project', () => {
  test('a transform becomes Project.transforms (inputs by name, hashed) and a source of kind "transform" that a view can read', () => {
    const billed = transform('billed', [crm, invoices], { sql: 'SELECT account_id, sum(amount) AS billed, max(i.ts) AS ts FROM crm_accounts JOIN billing_invoices i USING (account_id) GROUP BY ALL', schema: { account_id: 'string', billed: 'float64', ts: 'timestamp' }, description: 'd' });
    const view = featureView({ name: 'billing', entity: account, source: billed, features: { billed: field('billed'), n: count() } });
    const p = defineProject({ name: 'p', entities: [account], sources: [crm, invoices], featureViews: [view], transforms: [billed] });
    const compiled = compileProject(p);
    expect(compiled.transforms).toEqual([expect.objectContaining({ name: 'billed', inputs: ['crm_accounts', 'billing_invoices'], timestamp: 'ts', description: 'd' })]);
    expect(compiled.transforms![0]).not.toHaveProperty('incremental');
    expect(compiled.sources.map((s) => [s.name, s.kind])).toEqual([['crm_accounts', undefined], ['billing_invoices', undefined], ['billed', 'transform']]);
    expect(compiled.featureViews[0]!.source).toBe('billed');
    // Only what changes values is hashed: a description does not change the hash, the SQL does.
    const described = compileProject({ ...p, transforms: [{ ...billed, description: 'other' }] });
    expect(described.transforms![0]!.hash).toBe(compiled.transforms![0]!.hash);
    expect(described.sources[2]!.hash).toBe(compiled.sources[2]!.hash);
    const edited = compileProject({ ...p, transforms: [{ ...billed, sql: `${billed.sql} ORDER BY 1` }] });
    expect(edited.transforms![0]!.hash).not.toBe(compiled.transforms![0]!.hash);
  });

  test('a project without transforms keeps its shape and hash', () => {
    const without = project([]);
    expect(without).not.toHaveProperty('transforms');
    expect(without.hash).toBe(compileProject({ kind: 'project', name: 'p', entities: [account], sources: [crm, invoices], featureViews: [] }).hash);
  });

  test('an input not in the project is a definition error naming it and where to add it', () => {
    const stray = batchSource({ name: 'support_tickets', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
    expect(() => project([transform('t', [crm, stray])])).toThrow('transform "t": input "support_tickets" is not in the project; add it to defineProject({ sources: [...] })');
    const upstream = transform('upstream', [crm]);
    expect(() => project([transform('t', [upstream])])).toThrow('transform "t": input "upstream" is not in the project; add it to defineProject({ transforms: [...] })');
  });

  test('a view reading a transform the project does not list says so', () => {
    const unlisted = transform('unlisted', [crm]);
    expect(() => project([], { featureViews: [featureView({ name: 'v', entity: account, source: unlisted, features: { n: count() } })] })).toThrow(
      'feature view "v": transform "unlisted" is not in the project\'s transforms',
    );
  });

  test('a cycle is a definition error naming its path', () => {
    // Inputs are objects; a cycle needs a transform to name one declared later, as here.
    const bEarly = transform('b', [crm]);
    const a = transform('a', [bEarly]);
    const c = transform('c', [a]);
    const b = transform('b', [c]);
    expect(() => project([a, b, c])).toThrow('transforms form a cycle: a -> b -> c -> a');
    const self = transform('s', [transform('s', [crm])]);
    expect(() => project([self])).toThrow('transforms form a cycle: s -> s');
  });

  test('names share the namespace of sources; output columns follow a source\'s rules, named for the transform', () => {
    expect(() => project([transform('crm_accounts', [invoices])])).toThrow('duplicate source or transform name "crm_accounts"');
    expect(() => project([transform('CRM_ACCOUNTS', [invoices])])).toThrow('sources and transforms "crm_accounts" and "CRM_ACCOUNTS" collide');
    expect(() => project([transform('t', [crm], { timestamp: 'when' })])).toThrow('transform "t": timestamp column "when" is not in its schema');
    expect(() => project([transform('t', [crm], { schema: { account_id: 'string', _x: 'int64', ts: 'timestamp' } })])).toThrow('transform "t": column "_x" starts with "_"');
    expect(() => project([transform('t', [crm], { sql: ' ' })])).toThrow('transform "t": sql must be a SELECT query over its inputs');
    expect(() => project([transform('t', [])])).toThrow('transform "t": it has no inputs');
    expect(() => project([transform('t', [crm, crm])])).toThrow('transform "t": input "crm_accounts" is listed twice');
  });

  test('transformOrder puts inputs first, whatever the declaration order; a subset keeps that order', () => {
    const base = transform('base', [crm]);
    const mid = transform('mid', [base, invoices]);
    const top = transform('top', [mid, base]);
    const other = transform('other', [crm]);
    const compiled = project([top, other, mid, base]);
    expect(transformOrder(compiled).map((t) => t.name)).toEqual(['base', 'mid', 'top', 'other']);
    expect(transformOrder(compiled, ['top', 'base']).map((t) => t.name)).toEqual(['base', 'top']);
  });
});
