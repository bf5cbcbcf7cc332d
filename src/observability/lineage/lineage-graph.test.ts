import { describe, expect, test } from 'vitest';
import { withParsedLineage } from '../../config/parse-transform-lineage.js';
import { avg, batchSource, compileProject, defineProject, entity, featureService, featureView, field, requestView, sqlTransform } from '../../definitions/index.js';
import { lineageGraph } from './lineage-graph.js';
import { describeSteps, resolveLineageTarget, traceLineage } from './lineage-query.js';

const user = entity({ name: 'user', joinKey: 'user_id' });
const txns = batchSource({ name: 'txns', schema: { user_id: 'string', amount: 'float64', country: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const stats = featureView({ name: 'txn_stats', entity: user, source: txns, features: { amount_avg: avg('amount'), country: field('country') } });
const risk = requestView({
  name: 'risk', request: { amount: 'float64' }, inputs: [stats], types: { ratio: 'float64' },
  features: { ratio: ({ request, txn_stats }) => (txn_stats.amount_avg === null ? null : request.amount / txn_stats.amount_avg) },
});
const project = compileProject(defineProject({ name: 'p', entities: [user], sources: [txns], featureViews: [stats], requestViews: [risk], featureServices: [featureService({ name: 'svc', features: [risk, 'txn_stats:country'] })] }));
const graph = lineageGraph(project, [{ id: 'ds1', path: '/data/train.parquet', features: ['risk__ratio', 'txn_stats__country', 'label'] }]);

describe('lineage graph', () => {
  test('a request view depends on its request fields and every feature of its inputs (its functions are opaque), and services and datasets on it', () => {
    const up = traceLineage(graph, resolveLineageTarget(graph, 'dataset:/data/train.parquet.risk__ratio'), 'upstream');
    expect(up.map((s) => `${s.id}.${s.column}`).sort()).toEqual(['input:risk.amount', 'request:risk.ratio', 'source:txns.amount', 'source:txns.country', 'view:txn_stats.amount_avg', 'view:txn_stats.country']);
    const down = traceLineage(graph, resolveLineageTarget(graph, 'txns.amount'), 'downstream');
    expect(down.map((s) => `${s.id}.${s.column}`)).toEqual(['view:txn_stats.amount_avg', 'request:risk.ratio', 'service:svc.risk__ratio', 'dataset:ds1.risk__ratio']);
    expect(down[0]!.transformation).toEqual({ type: 'DIRECT', subtype: 'AGGREGATION' });
    // The request view's function is opaque: each input feature is a candidate, said so.
    expect(down[1]!.transformation).toEqual({ type: 'DIRECT', subtype: 'TRANSFORMATION', unresolved: true });
    expect(describeSteps(down.slice(0, 2))).toEqual(['  view:txn_stats.amount_avg  (aggregation)', '    request:risk.ratio  (transformation, unresolved)']);
    // A spine column of a dataset is not a feature: no node feeds it.
    expect(Object.keys(graph.nodes.get('dataset:ds1')!.columns)).toEqual(['risk__ratio', 'txn_stats__country']);
  });

  test('a dataset is named by its path as the user wrote it: relative paths resolve as the CLI resolves them', () => {
    const target = resolveLineageTarget(graph, 'dataset:train.parquet.risk__ratio', (path) => `/data/${path}`);
    expect([target.node.id, target.column]).toEqual(['dataset:ds1', 'risk__ratio']);
    expect(() => resolveLineageTarget(graph, 'dataset:train.parquet.risk__ratio')).toThrow(/no lineage node/);
  });

  test('table-level: a node\'s neighbours each way, each once', () => {
    const target = resolveLineageTarget(graph, 'view:txn_stats');
    expect(traceLineage(graph, target, 'upstream').map((s) => s.id)).toEqual(['source:txns']);
    expect(traceLineage(graph, target, 'downstream').map((s) => `${s.depth} ${s.id}`)).toEqual(['1 request:risk', '2 service:svc', '2 dataset:ds1']);
  });
});

describe('lineage of a SQL transform', () => {
  const accounts = batchSource({ name: 'accounts', schema: { id: 'string', email: 'string', tier: 'string', ts: 'timestamp' }, timestamp: 'ts' });
  const daily = sqlTransform({
    name: 'tiers', inputs: [accounts],
    sql: "SELECT id, upper(tier) AS tier_code, max(ts) AS ts FROM accounts WHERE email LIKE '%@%' GROUP BY ALL",
    timestamp: 'ts', schema: { id: 'string', tier_code: 'string', ts: 'timestamp' },
  });
  const spec = defineProject({ name: 'p', entities: [user], sources: [accounts], transforms: [daily], featureViews: [] });
  const trace = (g: ReturnType<typeof lineageGraph>, target: string) => traceLineage(g, resolveLineageTarget(g, target), 'downstream').map((s) => `${s.id}.${s.column} ${s.transformation?.subtype}`);

  const typed = (g: ReturnType<typeof lineageGraph>, target: string) => traceLineage(g, resolveLineageTarget(g, target), 'downstream').map((s) => `${s.id}.${s.column} ${s.transformation?.type}/${s.transformation?.subtype}${s.transformation?.unresolved ? ' unresolved' : ''}`);

  test('with the parsed lineage: each output reads its own columns as the parse typed them; the grouping and filter columns decide every output\'s rows (INDIRECT)', async () => {
    const g = lineageGraph(await withParsedLineage(compileProject(spec)));
    expect(typed(g, 'source:accounts.tier')).toEqual(['transform:tiers.tier_code DIRECT/TRANSFORMATION', 'transform:tiers.id INDIRECT/GROUP_BY', 'transform:tiers.ts INDIRECT/GROUP_BY']);
    // The filter's column feeds no output's value: it decides the rows only.
    expect(typed(g, 'source:accounts.email')).toEqual(['transform:tiers.id INDIRECT/FILTER', 'transform:tiers.tier_code INDIRECT/FILTER', 'transform:tiers.ts INDIRECT/FILTER']);
    expect(typed(g, 'source:accounts.id')[0]).toBe('transform:tiers.id DIRECT/IDENTITY');
    expect(typed(g, 'source:accounts.ts')[0]).toBe('transform:tiers.ts DIRECT/AGGREGATION');
  });

  test('without it (a project compiled without an engine): every input column an unresolved candidate of every output', () => {
    const g = lineageGraph(compileProject(spec));
    expect(typed(g, 'source:accounts.tier')).toEqual(['transform:tiers.id', 'transform:tiers.tier_code', 'transform:tiers.ts'].map((c) => `${c} DIRECT/TRANSFORMATION unresolved`));
    expect(trace(g, 'source:accounts.tier')).toHaveLength(3);
  });
});
