import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { withParsedLineage } from '../src/config/parse-transform-lineage.js';
import { avg, batchSource, compileProject, count, defineProject, entity, featureService, featureView, notNull, range, requestView, sqlTransform } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import type { RunEvent } from '../src/observability/lineage/index.js';
import { openPlatform } from '../src/platform.js';
import { materialize } from '../src/processing/materialize.js';
import { lineageGraph } from '../src/observability/lineage/lineage-graph.js';
import { resolveLineageTarget, traceLineage } from '../src/observability/lineage/lineage-query.js';
import { runEvent } from '../src/observability/lineage/run-event.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { openLineageValidator } from './support/openlineage-schema.js';

// Review rev8: what an ingest writes and what a dataset build reads, as its OpenLineage events name them.
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', checks: [notNull('amount')] });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), amount_avg: avg('amount') } });
const idle = featureView({ name: 'idle', entity: customer, source: txns, features: { n: count() } });
const risk = requestView({
  name: 'risk', request: { amount: 'float64' }, inputs: [stats], types: { ratio: 'float64' },
  features: { ratio: ({ request, stats: s }) => (s.amount_avg === null ? null : (request.amount as number) / (s.amount_avg as number)) },
});
const spec = defineProject({ name: 'rev8', entities: [customer], sources: [txns], featureViews: [stats, idle], requestViews: [risk] });
const NOW = Date.parse('2024-02-01T00:00:00Z');

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function withEvents(body: (platform: ReturnType<typeof openPlatform>, project: Awaited<ReturnType<typeof withParsedLineage>>, dir: string) => Promise<void>): Promise<RunEvent[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lineage-outputs-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const events = join(dir, 'lineage.jsonl');
  const platform = openPlatform({ projectDir: dir, now: () => NOW, threads: 1, projectSpec: spec, lineage: { transport: 'file', path: events, namespace: 'rev8' } });
  const project = await withParsedLineage(compileProject(spec));
  await platform.metadata.recordRegistry(project);
  try {
    await body(platform, project, dir);
  } finally {
    await platform.close();
  }
  const emitted = readFileSync(events, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RunEvent);
  const validate = openLineageValidator();
  for (const event of emitted) expect(validate(event), `${event.job.name} ${event.eventType}`).toEqual([]);
  return emitted;
}

test('an ingest that applies its rows online names the online tables it wrote, as materialize names them, among its outputs', async () => {
  const emitted = await withEvents(async (platform, project, dir) => {
    const first = join(dir, 'a.csv');
    writeFileSync(first, 'customer_id,amount,ts\nc1,10,2024-01-01T00:00:00Z\nc2,20,2024-01-02T00:00:00Z\n');
    await ingestFile(platform, project, 'txns', first);
    await materialize(platform, project, { views: ['stats'] });
    const second = join(dir, 'b.csv');
    writeFileSync(second, 'customer_id,amount,ts\nc1,30,2024-01-03T00:00:00Z\n');
    const result = await ingestFile(platform, project, 'txns', second, { online: true });
    // "idle" was never materialized: the ingest did not write it.
    expect(result.online).toEqual({ applied: ['stats'], skipped: [{ view: 'idle', reason: 'not materialized' }] });
  });
  const materialized = emitted.find((e) => e.eventType === 'COMPLETE' && e.job.name.startsWith('materialize'))!;
  const ingests = emitted.filter((e) => e.eventType === 'COMPLETE' && e.job.name === 'ingest.txns');
  expect(ingests).toHaveLength(2);
  // The first ingest was not asked to apply its rows online: the lake table only.
  expect(ingests[0]!.outputs.map((d) => `${d.namespace} ${d.name}`)).toEqual(['rev8.lake txns']);
  const online = materialized.outputs.find((d) => d.name === 'stats')!;
  expect(ingests[1]!.outputs.map((d) => `${d.namespace} ${d.name}`)).toEqual(['rev8.lake txns', `${online.namespace} ${online.name}`]);
  expect(ingests[1]!.outputs[1]!.facets!.schema).toEqual(online.facets!.schema);
});

test('a request view\'s request fields are lineage inputs: in the graph (input:<view>) and, in a dataset build, the spine file\'s columns; the built file\'s schema facet lists the spine columns it holds', async () => {
  const project = compileProject(spec);
  const graph = lineageGraph(project);
  expect(graph.nodes.get('input:risk')).toMatchObject({ kind: 'input', name: 'risk', columns: { amount: 'float64' } });
  const upstream = traceLineage(graph, resolveLineageTarget(graph, 'request:risk.ratio'), 'upstream').map((s) => `${s.id}.${s.column}`);
  expect(upstream).toContain('input:risk.amount');
  expect(upstream).toContain('source:txns.amount');

  let spine = '';
  let out = '';
  const emitted = await withEvents(async (platform, p, dir) => {
    const file = join(dir, 'a.csv');
    writeFileSync(file, 'customer_id,amount,ts\nc1,10,2024-01-01T00:00:00Z\nc2,20,2024-01-02T00:00:00Z\n');
    await ingestFile(platform, p, 'txns', file);
    spine = join(dir, 'spine.csv');
    writeFileSync(spine, 'customer_id,ts,amount\nc1,2024-01-05T00:00:00Z,15\nc2,2024-01-05T00:00:00Z,40\n');
    out = join(dir, 'train.parquet');
    await buildDataset(platform, p, { spine, out, features: ['stats:amount_avg', 'risk:ratio'] });
  });
  const build = emitted.find((e) => e.eventType === 'COMPLETE' && e.job.name === `dataset_build.${out}`)!;
  const fieldsOf = (facets: Record<string, unknown> | undefined) => (facets!.schema as unknown as { fields: { name: string; type: string }[] }).fields.map((f) => `${f.name} ${f.type}`);
  // A CSV spine's columns are text: carried into the file as the spine held them (docs/datasets-and-models.md).
  expect(fieldsOf(build.inputs[0]!.facets)).toEqual(['customer_id VARCHAR', 'ts VARCHAR', 'amount VARCHAR']);
  expect(fieldsOf(build.outputs[0]!.facets)).toEqual(['customer_id VARCHAR', 'ts VARCHAR', 'amount VARCHAR', 'stats__amount_avg float64', 'risk__ratio float64']);
  const lineage = (build.outputs[0]!.facets!.columnLineage as unknown as { fields: Record<string, { inputFields: { namespace: string; name: string; field: string; transformations: { subtype: string; description?: string }[] }[] }> }).fields;
  const from = (column: string) => lineage[column]!.inputFields.map((f) => `${f.namespace} ${f.name === spine ? 'SPINE' : f.name}.${f.field}`).sort();
  expect(from('risk__ratio')).toEqual(['file SPINE.amount', 'rev8.lake txns.amount']);
  expect(lineage.risk__ratio!.inputFields.find((f) => f.name === spine)!.transformations[0]!.description).toMatch(/^unresolved/);
  expect(from('amount')).toEqual(['file SPINE.amount']);
  expect(from('customer_id')).toEqual(['file SPINE.customer_id']);
  expect(from('stats__amount_avg')).toEqual(['rev8.lake txns.amount']);
});

test('a transform\'s check results on its output are output-side: dataQualityMetrics as the DatasetFacet, no input-side facet among the output\'s facets (the validator checks each facet\'s side)', async () => {
  const totals = sqlTransform({
    name: 'totals', inputs: [txns], sql: 'SELECT customer_id, sum(amount) AS total, max(ts) AS ts FROM txns GROUP BY ALL',
    timestamp: 'ts', schema: { customer_id: 'string', total: 'float64', ts: 'timestamp' }, checks: [range('total', { min: 15 })],
  });
  const project = await withParsedLineage(compileProject(defineProject({ name: 'rev8', entities: [customer], sources: [txns], transforms: [totals], featureViews: [] })));
  const stats = { rows: 2, checks: [{ check: 'total_range', kind: 'range', severity: 'warn', passed: false, failingRows: 1, message: 'total >= 15: 1 of 2 rows fail', column: 'total' }], profile: { rowCount: 2, nullCounts: { total: 0 } } };
  const event = runEvent({ eventType: 'COMPLETE', runId: '0190b4a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b', job: 'transform', params: { transform: 'totals', inputs: { txns: 's1' } }, stats, at: 0, project }, 'rev8');
  expect(openLineageValidator()(event)).toEqual([]);
  const output = event.outputs[0]!;
  expect(output.facets!.dataQualityMetrics).toMatchObject({ _schemaURL: expect.stringContaining('/DataQualityMetricsDatasetFacet.json'), rowCount: 2, columnMetrics: { total: { nullCount: 0 } } });
  expect(output.facets!.dataQualityAssertions).toBeUndefined();
  // The validator is not vacuous: the input-side facets the output carried before are refused there.
  const before = { ...event, outputs: [{ ...output, facets: { ...output.facets, dataQualityAssertions: { _producer: 'https://a.b/c', _schemaURL: 'https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet', assertions: [] } } }] };
  expect(openLineageValidator()(before).join('\n')).toMatch(/outputs\[0\]\.facets\.dataQualityAssertions: a InputDatasetFacet/);
});

test('an ingest\'s dataQualityMetrics has one row base: rowCount and columnMetrics over the rows its checks evaluated; accepted, rejected and duplicates count the rows it read', () => {
  const project = compileProject(spec);
  const stats = { accepted: 160, rejected: 240, duplicates: 0, skipped: false, checks: [{ check: 'amount_not_null', kind: 'notNull', severity: 'warn', passed: false, failingRows: 3, message: 'amount is not null: 3 of 160 rows fail', column: 'amount' }], profile: { rowCount: 160, nullCounts: { amount: 3 } } };
  const event = runEvent({ eventType: 'COMPLETE', runId: '0190b4a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b', job: 'ingest', params: { source: 'txns', file: '/data/a.csv' }, stats, at: 0, project }, 'rev8');
  expect(openLineageValidator()(event)).toEqual([]);
  expect(event.inputs[0]!.inputFacets!.dataQualityMetrics).toMatchObject({ rowCount: 160, accepted: 160, rejected: 240, duplicates: 0, columnMetrics: { amount: { nullCount: 3 } } });
});

// Review rev8: the drift and skew jobs' events named no dataset.
test('drift and skew runs name what they read: the dataset file and the serving log (drift); the serving log and the lake tables of the service\'s views (skew)', () => {
  const project = compileProject(defineProject({ name: 'rev8', entities: [customer], sources: [txns], featureViews: [stats], requestViews: [risk], featureServices: [featureService({ name: 'svc', features: [risk] })] }));
  const at = { runId: '0190b4a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b', at: 0, project, eventType: 'START' as const };
  const drift = runEvent({ ...at, job: 'drift', params: { dataset: 'ds_1', datasetPath: '/data/train.parquet', servingLog: '/p/.sluice/serving-log/svc', service: 'svc' } }, 'rev8');
  expect(drift.inputs.map((d) => `${d.namespace} ${d.name}`)).toEqual(['file /data/train.parquet', 'file /p/.sluice/serving-log/svc']);
  const skew = runEvent({ ...at, job: 'skew', params: { skewRun: 'skew_1', servingLog: '/p/.sluice/serving-log/svc', service: 'svc' } }, 'rev8');
  // The service serves a request view: the view it reads is the one whose source is compared.
  expect(skew.inputs.map((d) => `${d.namespace} ${d.name}`)).toEqual(['file /p/.sluice/serving-log/svc', 'rev8.lake txns']);
  for (const event of [drift, skew]) expect(openLineageValidator()(event)).toEqual([]);
});
