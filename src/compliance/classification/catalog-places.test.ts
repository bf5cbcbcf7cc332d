import { expect, test } from 'vitest';
import { compileProject, count, defineProject, entity, featureService, featureView, field, pii, requestView, streamSource, tags } from '../../definitions/index.js';
import { classificationCatalog } from './catalog.js';
import { classifiedPlaces } from './catalog-places.js';

const user = entity({ name: 'user', joinKey: 'user_id' });
const clicks = streamSource({ name: 'clicks', schema: { user_id: 'string', ip: 'string', page: 'string', ts: 'timestamp' }, timestamp: 'ts', classify: { ip: pii('quasi'), page: tags('behaviour') } });
const activity = featureView({ name: 'activity', entity: user, source: clicks, features: { last_ip: field('ip'), pages: count('page'), n: count() } });

test('stores holding classified data are listed with counts: online tables, built datasets, serving logs, the durable log, dead letters, quarantine', () => {
  const project = compileProject(defineProject({ name: 'web', entities: [user], sources: [clicks], featureViews: [activity], featureServices: [featureService({ name: 'web', features: [activity], log: { sampleRate: 0.1 } })] }));
  const record = { id: 'd1', path: '/data/train.parquet', format: 'parquet', spine: 's.csv', spineSha256: 'x', timestampColumn: 'ts', features: ['activity__last_ip', 'activity__n'], definitions: { activity: 'h' }, snapshots: {}, rowCount: 3, createdAt: 0 };
  const places = classifiedPlaces(project, classificationCatalog(project), { datasets: [record], deadLetters: { clicks: 4 }, quarantined: { clicks: 1 } }, { piiOnly: false });
  const byId = new Map(places.map((p) => [p.id, p]));
  expect(byId.get('online:activity')).toMatchObject({ level: 'quasi', tags: ['behaviour'], columns: ['last_ip', 'pages'] });
  expect(byId.get('built:d1')).toMatchObject({ level: 'quasi', columns: ['activity__last_ip'], note: '/data/train.parquet' });
  expect(byId.get('serving-log:web')).toMatchObject({ level: 'quasi', note: 'sample rate 0.1' });
  expect(byId.get('durable-log:clicks')).toMatchObject({ level: 'quasi', columns: ['ip', 'page'] });
  expect(byId.get('dead-letters:clicks')).toMatchObject({ note: '4 rejected row(s) kept raw' });
  expect(byId.get('quarantine:clicks')).toMatchObject({ note: '1 held batch(es)' });
  const pii = classifiedPlaces(project, classificationCatalog(project), { datasets: [], deadLetters: {}, quarantined: {} }, { piiOnly: true });
  expect(pii.map((p) => p.id)).not.toContain('feature:activity.pages');
  expect(pii.map((p) => p.id)).toContain('feature:activity.last_ip');
});

test('a request view classifies its own features only', () => {
  const score = requestView({ name: 'score', request: { x: 'float64' }, inputs: [activity], types: { s: 'float64' }, features: { s: ({ activity: a }) => a.n }, classify: { z: pii('direct') } as never });
  expect(() => defineProject({ name: 'web', entities: [user], sources: [clicks], featureViews: [activity], requestViews: [score] })).toThrow('request view "score": classify names feature "z", which is not one of its features');
});
