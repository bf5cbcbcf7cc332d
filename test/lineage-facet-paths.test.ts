import { expect, test } from 'vitest';
import { avg, batchSource, compileProject, defineProject, entity, featureView, field, requestView } from '../src/definitions/index.js';
import { composedTransformation } from '../src/observability/lineage/lineage-graph.js';
import { runEvent } from '../src/observability/lineage/run-event.js';
import { openLineageValidator } from './support/openlineage-schema.js';

const user = entity({ name: 'user', joinKey: 'user_id' });
const txns = batchSource({ name: 'txns', schema: { user_id: 'string', amount: 'float64', country: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const filteredStats = featureView({ name: 'txn_stats', entity: user, source: txns, filter: "country <> 'XX'", features: { amount_avg: avg('amount'), country: field('country') } });
const filteredRisk = requestView({ name: 'risk', request: { amount: 'float64' }, inputs: [filteredStats], types: { ratio: 'float64' }, features: { ratio: ({ request, txn_stats }) => (txn_stats.amount_avg === null ? null : request.amount / txn_stats.amount_avg) } });
const filtered = compileProject(defineProject({ name: 'p', entities: [user], sources: [txns], featureViews: [filteredStats], requestViews: [filteredRisk], featureServices: [] }));

// Review rev finding 10: the facet kept only one hop's type, so country (read by another feature) was a DIRECT/IDENTITY input of risk__ratio.
test('a dataset build\'s columnLineage composes each path: DIRECT only if every hop is, the strongest subtype, unresolved through a request view\'s function', () => {
  const event = runEvent({ eventType: 'COMPLETE', runId: '0190b4a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b', job: 'dataset_build', params: { features: ['risk__ratio', 'txn_stats__country', 'txn_stats__amount_avg'], out: '/data/t.parquet', spine: '/data/s.csv' }, at: 0, project: filtered }, 'ns');
  const fields = (event.outputs[0]!.facets!.columnLineage as unknown as { fields: Record<string, { inputFields: { field: string; transformations: { type: string; subtype: string; description?: string }[] }[] }> }).fields;
  const shown = (column: string) => fields[column]!.inputFields.flatMap((f) => f.transformations.map((t) => `${f.field} ${t.type}/${t.subtype}${t.description?.startsWith('unresolved') ? ' unresolved' : ''}`)).sort();
  // `amount` twice: the request field (the spine's column) and the source's column through the view.
  expect(shown('risk__ratio')).toEqual(['amount DIRECT/AGGREGATION unresolved', 'amount DIRECT/TRANSFORMATION unresolved', 'country DIRECT/TRANSFORMATION unresolved', 'country INDIRECT/FILTER unresolved']);
  expect(shown('txn_stats__amount_avg')).toEqual(['amount DIRECT/AGGREGATION', 'country INDIRECT/FILTER']);
  expect(shown('txn_stats__country')).toEqual(['country DIRECT/IDENTITY', 'country INDIRECT/FILTER']);
  expect(openLineageValidator()(event)).toEqual([]);
});

test('composing a path: INDIRECT through any INDIRECT hop (the one nearest the output), else DIRECT with the strongest subtype', () => {
  expect(composedTransformation([{ type: 'DIRECT', subtype: 'AGGREGATION' }, { type: 'DIRECT', subtype: 'IDENTITY' }])).toEqual({ type: 'DIRECT', subtype: 'AGGREGATION' });
  expect(composedTransformation([{ type: 'INDIRECT', subtype: 'GROUP_BY' }, { type: 'INDIRECT', subtype: 'FILTER' }, { type: 'DIRECT', subtype: 'IDENTITY' }])).toEqual({ type: 'INDIRECT', subtype: 'FILTER' });
  expect(composedTransformation([{ type: 'DIRECT', subtype: 'IDENTITY' }, { type: 'DIRECT', subtype: 'TRANSFORMATION', unresolved: true }])).toEqual({ type: 'DIRECT', subtype: 'TRANSFORMATION', unresolved: true });
});


// Review rev12 finding 7: builds were named by file name, so a/train.parquet and b/train.parquet were one job in a lineage backend.
test('dataset builds of two files with one name in different folders are two jobs, each named by its output path', () => {
  const name = (out: string) => runEvent({ eventType: 'START', runId: '0190b4a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b', job: 'dataset_build', params: { features: ['txn_stats__country'], out, spine: '/data/s.csv' }, at: 0, project: filtered }, 'ns').job.name;
  expect(name('/data/a/train.parquet')).toBe('dataset_build./data/a/train.parquet');
  expect(name('/data/b/train.parquet')).toBe('dataset_build./data/b/train.parquet');
});
