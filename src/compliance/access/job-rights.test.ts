import { expect, test } from 'vitest';
import { batchSource, compileProject, count, dataset, defineProject, entity, featureView, field, streamSource } from '../../definitions/index.js';
import { jobRights, workRights } from './job-rights.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const profiles = batchSource({ name: 'profiles', schema: { customer_id: 'string', email: 'string', ts: 'timestamp' }, timestamp: 'ts', path: 'profiles.csv' });
const bare = batchSource({ name: 'bare', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const payments = streamSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const profile = featureView({ name: 'profile', entity: customer, source: profiles, features: { email: field('email') } });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count({ window: '1h' }) } });
const train = dataset({ name: 'train', spine: 'spine.csv', out: 'train.parquet', features: ['stats:n'] });
const project = compileProject(defineProject({ name: 'rights', entities: [customer], sources: [profiles, bare, payments], featureViews: [profile, stats], datasets: [train] }));

test('one rule for the rights of a job\'s work, whichever door asks: never none', () => {
  expect(jobRights({ name: 'dataset:train', kind: 'dataset', target: 'train', upstream: [] })).toEqual([['run', 'dataset:train'], ['datasets', 'datasets']]);
  expect(workRights(project, 'dataset:train')).toEqual([['run', 'dataset:train'], ['datasets', 'datasets']]);
  expect(workRights(project, 'ingest:profiles')).toEqual([['run', 'ingest:profiles']]);
  expect(workRights(project, 'materialize:stats')).toEqual([['run', 'materialize:stats']]);
  // No job: a stream source asks what POST /v1/push asks; a batch source without path, or an unknown name, run on the name.
  expect(workRights(project, 'ingest:payments')).toEqual([['push', 'payments']]);
  expect(workRights(project, 'ingest:bare')).toEqual([['run', 'ingest:bare']]);
  expect(workRights(project, 'ingest:nosuch')).toEqual([['run', 'ingest:nosuch']]);
});
