import { expect, test } from 'vitest';
import { batchSource, count, defineProject, entity, featureView } from '../src/definitions/index.js';
import { storeMetrics } from '../src/observability/store-metrics.js';
import { newLeaseHolder } from '../src/orchestration/lease.js';
import { tempPlatform } from './support/temp-platform.js';

const user = entity({ name: 'user', joinKey: 'id' });
const events = batchSource({ name: 'events', schema: { id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spec = defineProject({ name: 'm', entities: [user], sources: [events], featureViews: [featureView({ name: 'n', entity: user, source: events, features: { n: count() } })] });

test('sluice_job_runs_total counts final statuses only (it never goes down); running runs are the gauge sluice_job_runs_running, 0 once none runs', async () => {
  const env = await tempPlatform(spec);
  try {
    const scrape = storeMetrics(env.platform, async () => env.project);
    const series = async (name: string) => Object.fromEntries(((await scrape())[name] ?? []).map((s) => [Object.values(s.labels).join('/'), s.value]));
    const run = await env.platform.metadata.startRun('ingest', { source: 'events' }, { holder: newLeaseHolder(), ttlMs: 60_000 });
    expect(await series('sluice_job_runs_total')).toEqual({});
    expect(await series('sluice_job_duration_seconds_total')).toEqual({});
    expect(await series('sluice_job_runs_running')).toEqual({ ingest: 1 });
    await env.platform.metadata.finishRun(run.id, { status: 'succeeded', stats: {} });
    expect(await series('sluice_job_runs_total')).toEqual({ 'ingest/succeeded': 1 });
    expect(await series('sluice_job_runs_running')).toEqual({ ingest: 0 });
  } finally {
    await env.dispose();
  }
});
