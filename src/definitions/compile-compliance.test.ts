import { expect, test } from 'vitest';
import { allowTransfer, batchSource, compileProject, defineProject, entity, featureView, field, pii, planChanges } from './index.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const schema = { customer_id: 'string', email: 'string', embedding: 'float32[3]', ts: 'timestamp' } as const;
const project = (options: { classify?: boolean; transfer?: boolean } = {}) => {
  const customers = batchSource({ name: 'customers', schema, timestamp: 'ts', ...(options.classify ? { classify: { email: pii('direct'), embedding: pii('quasi', { tags: ['embedding'] }) } } : {}) });
  return compileProject(defineProject({
    name: 'p', entities: [customer], sources: [customers], region: 'eu-west-1',
    featureViews: [featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email'), vec: field('embedding') } })],
    ...(options.transfer ? { transfers: [allowTransfer({ from: 'eu', to: 'us', purpose: 'fraud-model', sources: [customers] })] } : {}),
  }));
};

test('plan shows a classification or a transfer added, without rematerializing anything', () => {
  const changes = planChanges(project(), project({ classify: true, transfer: true }));
  expect(changes).toEqual([
    { action: 'change', kind: 'source', name: 'customers', details: ['classification of email none -> {"level":"direct"}', 'classification of embedding none -> {"level":"quasi","tags":["embedding"]}'], consequences: [] },
    { action: 'add', kind: 'transfer', name: 'eu->us:fraud-model' },
  ]);
  expect(planChanges(project({ classify: true, transfer: true }), project({ classify: true, transfer: true }))).toEqual([]);
});
