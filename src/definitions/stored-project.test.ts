import { expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureView, storedProject, type Project } from './index.js';

test('a project stored before composite keys (joinKey) reads as joinKeys, with the same hashes', () => {
  const customer = entity({ name: 'customer', joinKey: 'customer_id' });
  const txns = batchSource({ name: 'transactions', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
  const today = compileProject(defineProject({ name: 'p', entities: [customer], sources: [txns], featureViews: [featureView({ name: 'v', entity: customer, source: txns, features: { n: count() } })] }));
  const legacyOf = <T extends { joinKeys: readonly string[] }>({ joinKeys, ...rest }: T) => ({ ...rest, joinKey: joinKeys[0] });
  const legacy = JSON.parse(JSON.stringify({ ...today, entities: today.entities.map(legacyOf), featureViews: today.featureViews.map(legacyOf) })) as Project;
  expect(storedProject(legacy)).toEqual(JSON.parse(JSON.stringify(today)));
  expect(storedProject(today)).toEqual(today);
});
