import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureService, featureView, streamSource, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { SluiceMetrics } from '../src/observability/metrics.js';
import { materialize } from '../src/processing/materialize.js';
import { createServer } from '../src/serving/http/server.js';
import { startStreamRuntime, type StreamRuntime } from '../src/streaming/stream-runtime.js';
import { tempPlatform } from './support/temp-platform.js';
import { expectPromtoolAccepts } from './support/promtool.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const payments = streamSource({ name: 'payments', schema: { payment_id: 'string', customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count(), total: sum('amount') } });
const paid = featureView({ name: 'paid', entity: customer, source: payments, features: { n: count() } });
const spec = defineProject({ name: 'p', entities: [customer], sources: [txns, payments], featureViews: [stats, paid], featureServices: [featureService({ name: 'scoring', features: [stats, paid] })] });

let env: Awaited<ReturnType<typeof tempPlatform>>;
let runtime: StreamRuntime;
let metrics: SluiceMetrics;
beforeEach(async () => {
  env = await tempPlatform(spec, T0 + 3_600_000);
  metrics = new SluiceMetrics();
  runtime = await startStreamRuntime(env.platform, {
    project: () => env.project, commitIntervalMs: 3_600_000,
    onAppended: (source, origin, outcome) => metrics.recordAppend(source, origin, outcome),
    onVisible: (view, ack, visible) => metrics.recordVisible(view, ack, visible),
  });
});
afterEach(async () => {
  await runtime.close();
  await env.dispose();
});

/** Samples of a text exposition, parsed by a reader of the format that shares no code with prom-client. */
function parseExposition(text: string): { types: Map<string, string>; samples: Map<string, number> } {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a line of the text format: ${line}`);
    samples.set(sample[1]!, Number(sample[2]));
  }
  return { types, samples };
}

test('GET /metrics: pushes, rejects by reason, dead letters, ingests, jobs, serving by service and value status, in a format promtool accepts', async () => {
  const app = await createServer(env.platform, { stream: runtime.processor, metrics });
  try {
    writeFileSync(join(env.dir, 'a.csv'), ['customer_id,amount,ts', 'c1,10,2024-01-01T00:10:00Z', 'c1,5,2024-01-01T00:20:00Z', ',1,2024-01-01T00:20:00Z'].join('\n'));
    await ingestFile(env.platform, env.project, 'txns', join(env.dir, 'a.csv'));
    await materialize(env.platform, env.project, { views: ['stats'] });
    const event = (id: string, minutesAgo: number) => ({ payment_id: id, customer_id: 'c1', amount: 1, ts: new Date(env.clock.now - minutesAgo * 60_000).toISOString() });
    const pushed = await app.inject({ method: 'POST', url: '/v1/push/payments', payload: { events: [event('p1', 5), event('p2', 4), event('p1', 5), event('old', 120), { customer_id: 'c1', amount: 1, ts: 'not a time' }] } });
    expect(pushed.json()).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(pushed.json().rejected).toHaveLength(2);
    await runtime.commitNow();
    const ask = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/features/online', payload });
    expect((await ask({ entities: { customer_id: ['c1', 'c2'] }, service: 'scoring' })).statusCode).toBe(200);
    expect((await ask({ entities: { customer_id: ['c1'] }, features: ['stats:n'] })).statusCode).toBe(200);
    expect((await ask({ entities: { customer_id: ['c1'] }, service: 'no_such_service' })).statusCode).toBe(404);

    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parseExposition(response.body);
    expect(Object.fromEntries([
      'sluice_push_events_total{source="payments",origin="push",outcome="accepted"}',
      'sluice_push_events_total{source="payments",origin="push",outcome="duplicate"}',
      'sluice_push_events_total{source="payments",origin="push",outcome="rejected"}',
      'sluice_push_rejected_events_total{source="payments",reason="late"}',
      'sluice_push_rejected_events_total{source="payments",reason="missing"}',
      'sluice_dead_letters{source="payments"}',
      'sluice_dead_letters{source="txns"}',
      'sluice_ingest_rows_total{source="txns"}',
      'sluice_ingest_rejected_rows_total{source="txns"}',
      'sluice_job_runs_total{job="ingest",status="succeeded"}',
      'sluice_job_runs_total{job="materialize",status="succeeded"}',
      'sluice_stream_log_offset{source="payments"}',
      'sluice_stream_lake_lag_entries{source="payments"}',
      'sluice_stream_online_lag_entries{source="payments",view="paid"}',
      // scoring: 2 entities x 3 features; c2 is NOT_FOUND in both views.
      'sluice_serving_values_total{service="scoring",status="PRESENT"}',
      'sluice_serving_values_total{service="scoring",status="NOT_FOUND"}',
      'sluice_serving_values_total{service="features",status="PRESENT"}',
      'sluice_serving_request_duration_seconds_count{service="scoring",code="200"}',
      'sluice_serving_request_duration_seconds_count{service="unknown",code="404"}',
      'sluice_stream_visible_lag_seconds_count{view="paid"}',
    ].map((k) => [k, samples.get(k)]))).toEqual({
      'sluice_push_events_total{source="payments",origin="push",outcome="accepted"}': 2,
      'sluice_push_events_total{source="payments",origin="push",outcome="duplicate"}': 1,
      'sluice_push_events_total{source="payments",origin="push",outcome="rejected"}': 2,
      'sluice_push_rejected_events_total{source="payments",reason="late"}': 1,
      'sluice_push_rejected_events_total{source="payments",reason="missing"}': 1,
      'sluice_dead_letters{source="payments"}': 2,
      'sluice_dead_letters{source="txns"}': 1,
      'sluice_ingest_rows_total{source="txns"}': 2,
      'sluice_ingest_rejected_rows_total{source="txns"}': 1,
      'sluice_job_runs_total{job="ingest",status="succeeded"}': 1,
      'sluice_job_runs_total{job="materialize",status="succeeded"}': expect.any(Number),
      'sluice_stream_log_offset{source="payments"}': 1,
      'sluice_stream_lake_lag_entries{source="payments"}': 0,
      'sluice_stream_online_lag_entries{source="payments",view="paid"}': 0,
      'sluice_serving_values_total{service="scoring",status="PRESENT"}': 3,
      'sluice_serving_values_total{service="scoring",status="NOT_FOUND"}': 3,
      'sluice_serving_values_total{service="features",status="PRESENT"}': 1,
      'sluice_serving_request_duration_seconds_count{service="scoring",code="200"}': 1,
      'sluice_serving_request_duration_seconds_count{service="unknown",code="404"}': 1,
      'sluice_stream_visible_lag_seconds_count{view="paid"}': 1,
    });
    expect(types.get('sluice_serving_request_duration_seconds')).toBe('histogram');
    expect(types.get('sluice_job_runs_total')).toBe('counter');
    // Two servers in one process keep their own registries.
    const other = await createServer(env.platform);
    try {
      const { samples: fresh } = parseExposition((await other.inject({ method: 'GET', url: '/metrics' })).body);
      expect(fresh.get('sluice_serving_request_duration_seconds_count{service="scoring",code="200"}')).toBeUndefined();
      expect(fresh.get('sluice_dead_letters{source="payments"}')).toBe(2);
    } finally {
      await other.close();
    }

    expectPromtoolAccepts(response.body);
  } finally {
    await app.close();
  }
});
