import { withParsedLineage } from '../src/config/parse-transform-lineage.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, defineProject, entity, featureService, featureView, field, sqlTransform, sum } from '../src/definitions/index.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import type { RunEvent } from '../src/observability/lineage/index.js';
import { newLeaseHolder } from '../src/orchestration/lease.js';
import { listRuns } from '../src/orchestration/track-run.js';
import { openPlatform } from '../src/platform.js';
import { materialize } from '../src/processing/materialize.js';
import { runTransform } from '../src/processing/transforms/run-transform.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { openLineageValidator } from './support/openlineage-schema.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const txns = batchSource({ name: 'transactions', schema: { account_id: 'string', amount: 'float64', fx_rate: 'float64', channel: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const spend = featureView({
  name: 'spend', entity: account, source: txns,
  filter: "channel <> 'test'",
  columns: { amount_usd: { type: 'float64', sql: 'amount * coalesce(fx_rate, 1.0)' } },
  features: { total_usd: sum('amount_usd'), n: count(), last_channel: field('channel') },
});
const daily = sqlTransform({
  name: 'account_totals', inputs: [txns],
  sql: 'SELECT account_id, sum(amount) AS total, max(ts) AS ts FROM transactions GROUP BY ALL',
  timestamp: 'ts', schema: { account_id: 'string', total: 'float64', ts: 'timestamp' },
});
const totals = featureView({ name: 'totals', entity: account, source: daily, features: { total: field('total') } });
const spec = defineProject({ name: 'shop', entities: [account], sources: [txns], featureViews: [spend, totals], transforms: [daily], featureServices: [featureService({ name: 'fraud', features: [spend] })] });

const NOW = Date.parse('2024-02-01T00:00:00Z');
const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('OpenLineage events of jobs', () => {
  test('ingest -> transform run -> materialize -> dataset build (and a failed build, and a run whose process died): START then COMPLETE/FAIL, every event valid against the official schemas', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lineage-'));
    const events = join(dir, 'events', 'lineage.jsonl');
    const platform = openPlatform({ projectDir: dir, now: () => NOW, threads: 1, projectSpec: spec, lineage: { transport: 'file', path: events, namespace: 'shop-prod' } });
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const project = await withParsedLineage(compileProject(spec)); // as loadProject gives it
    await platform.metadata.recordRegistry(project);
    const input = join(dir, 'txns.csv');
    writeFileSync(input, 'account_id,amount,fx_rate,channel,ts\na1,10,1.1,web,2024-01-01T00:00:00Z\na1,5,,test,2024-01-02T00:00:00Z\na2,not-a-number,1,web,2024-01-02T00:00:00Z\na2,7,2,pos,2024-01-03T00:00:00Z\n');
    // A run whose process died: the next job marks it failed, and its FAIL event goes out first.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const orphan = await platform.metadata.startRun('materialize', { views: ['spend'], asOf: NOW }, { holder: { ...newLeaseHolder(), pid: dead }, ttlMs: 60_000 });
    await ingestFile(platform, project, 'transactions', input);
    await runTransform(platform, project, 'account_totals');
    await materialize(platform, project);
    const spine = join(dir, 'spine.csv');
    writeFileSync(spine, `account_id,ts\na1,${new Date(NOW).toISOString()}\na2,${new Date(NOW).toISOString()}\n`);
    const out = join(dir, 'train.parquet');
    await buildDataset(platform, project, { spine, out, features: ['spend:total_usd', 'spend:n', 'totals:total'] });
    writeFileSync(join(dir, 'bad-spine.csv'), `customer,ts\nc1,${new Date(NOW).toISOString()}\n`);
    await expect(buildDataset(platform, project, { spine: join(dir, 'bad-spine.csv'), out: join(dir, 'bad.parquet'), features: ['spend:n'] })).rejects.toThrow();
    await platform.close();

    const emitted = readFileSync(events, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RunEvent);
    const validate = openLineageValidator();
    for (const event of emitted) expect(validate(event), `${event.job.name} ${event.eventType}`).toEqual([]);
    const orphanFail = emitted.shift()!;
    expect(orphanFail).toMatchObject({ eventType: 'FAIL', run: { runId: orphan.id, facets: { errorMessage: { message: expect.stringMatching(/^the process running it died; last known alive at /) } } }, job: { name: 'materialize.spend' } });
    expect(emitted.map((e) => `${e.eventType} ${e.job.name}`)).toEqual([
      'START ingest.transactions', 'COMPLETE ingest.transactions',
      'START transform.account_totals', 'COMPLETE transform.account_totals',
      'START materialize', 'COMPLETE materialize',
      `START dataset_build.${join(dir, 'train.parquet')}`, `COMPLETE dataset_build.${join(dir, 'train.parquet')}`,
      `START dataset_build.${join(dir, 'bad.parquet')}`, `FAIL dataset_build.${join(dir, 'bad.parquet')}`,
    ]);
    // Each run's events share its run id, which is the run history's.
    const runs = await (async () => {
      const p = openPlatform({ projectDir: dir, lineage: false });
      try {
        return await p.metadata.listRuns(10);
      } finally {
        await p.close();
      }
    })();
    for (let i = 0; i < emitted.length; i += 2) expect(emitted[i]!.run.runId).toBe(emitted[i + 1]!.run.runId);
    expect(new Set([orphan.id, ...emitted.map((e) => e.run.runId)])).toEqual(new Set(runs.map((r) => r.id)));
    expect(emitted.every((e) => e.job.namespace === 'shop-prod')).toBe(true);

    const [, ingest, , transform, , mat, , build, , failed] = emitted as [RunEvent, RunEvent, RunEvent, RunEvent, RunEvent, RunEvent, RunEvent, RunEvent, RunEvent, RunEvent];
    expect(ingest.inputs[0]).toMatchObject({ namespace: 'file', name: input, inputFacets: { dataQualityMetrics: { rowCount: 4, accepted: 3, rejected: 1 }, dataQualityAssertions: { assertions: expect.arrayContaining([{ assertion: 'rows_valid', success: false }]) } } });
    expect(ingest.outputs[0]).toMatchObject({ namespace: 'shop-prod.lake', name: 'transactions', outputFacets: { outputStatistics: { rowCount: 3 } } });
    expect((ingest.outputs[0]!.facets!.schema as unknown as { fields: unknown[] }).fields).toEqual([
      { name: 'account_id', type: 'string', ordinal_position: 1 }, { name: 'amount', type: 'float64', ordinal_position: 2 }, { name: 'fx_rate', type: 'float64', ordinal_position: 3 },
      { name: 'channel', type: 'string', ordinal_position: 4 }, { name: 'ts', type: 'timestamp', ordinal_position: 5 },
    ]);
    expect(transform.inputs.map((d) => d.name)).toEqual(['transactions']);
    expect(transform.outputs[0]).toMatchObject({ namespace: 'shop-prod.lake', name: 'account_totals', outputFacets: { outputStatistics: { rowCount: 2 } } });
    expect(transform.job.facets!.sql).toMatchObject({ query: daily.sql });
    // A transform's SQL: each output's own input columns from DuckDB's parse tree, typed; the columns that decide its rows (GROUP BY ALL: the key) at dataset level.
    const transformLineage = transform.outputs[0]!.facets!.columnLineage as unknown as { fields: Record<string, { inputFields: { name: string; field: string; transformations: { type: string; subtype: string }[] }[] }>; dataset: { field: string }[] };
    expect(Object.fromEntries(Object.entries(transformLineage.fields).map(([out, f]) => [out, f.inputFields.map((i) => `${i.name}.${i.field} ${i.transformations[0]!.type}/${i.transformations[0]!.subtype}`)]))).toEqual({
      account_id: ['transactions.account_id DIRECT/IDENTITY'], total: ['transactions.amount DIRECT/AGGREGATION'], ts: ['transactions.ts DIRECT/AGGREGATION'],
    });
    expect((transformLineage.dataset as unknown as { field: string; transformations: { type: string; subtype: string }[] }[]).map((f) => `${f.field} ${f.transformations.map((t) => `${t.type}/${t.subtype}`).join()}`)).toEqual(['account_id INDIRECT/GROUP_BY']);

    expect(mat.inputs.map((d) => d.name)).toEqual(['transactions', 'account_totals']);
    const online = mat.outputs.find((d) => d.name === 'spend')!;
    expect(online).toMatchObject({ namespace: 'shop-prod.online', outputFacets: { outputStatistics: { rowCount: 2 } } });
    const fields = (online.facets!.columnLineage as unknown as { fields: Record<string, { inputFields: { name: string; field: string; transformations: { type: string; subtype: string }[] }[] }> }).fields;
    // total_usd reads the derived column, so fx_rate and amount; every feature also depends on the filter's column.
    expect(fields.total_usd!.inputFields.map((f) => `${f.name}.${f.field} ${f.transformations[0]!.type}/${f.transformations[0]!.subtype}`).sort()).toEqual([
      'transactions.amount DIRECT/TRANSFORMATION', 'transactions.channel INDIRECT/FILTER', 'transactions.fx_rate DIRECT/TRANSFORMATION',
    ]);
    // One input field per input column, with each way it reaches the output.
    expect(fields.last_channel!.inputFields.flatMap((f) => f.transformations.map((t) => `${f.field} ${t.subtype}`)).sort()).toEqual(['channel FILTER', 'channel IDENTITY']);
    expect(fields.last_channel!.inputFields).toHaveLength(1);
    expect(fields.n!.inputFields.map((f) => f.field)).toEqual(['channel']);

    expect(build.inputs.map((d) => d.name)).toEqual([spine, 'transactions', 'account_totals']);
    expect(build.outputs[0]).toMatchObject({ namespace: 'file', name: out, outputFacets: { outputStatistics: { rowCount: 2 } } });
    const buildFields = (build.outputs[0]!.facets!.columnLineage as unknown as { fields: Record<string, { inputFields: { field: string }[] }> }).fields;
    expect(buildFields.spend__total_usd!.inputFields.map((f) => f.field).sort()).toEqual(['amount', 'channel', 'fx_rate']);
    expect(buildFields.totals__total!.inputFields.map((f) => f.field)).toEqual(['total']);

    expect(failed.run.facets!.errorMessage).toMatchObject({ programmingLanguage: 'JavaScript', message: expect.stringContaining('account_id') });
  });

  // `sluice runs` and `sluice status` reap dead runs too, with no project at hand: their FAIL
  // named the job by its run-history name (`materialize`, `ingest`), not as its START did
  // (`materialize.spend`), so a lineage backend saw a run of another job fail and this one never end.
  test('a dead run reaped by a listing (sluice runs, sluice status) fails under the job name its START had', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lineage-'));
    const events = join(dir, 'lineage.jsonl');
    const platform = openPlatform({ projectDir: dir, now: () => NOW, threads: 1, projectSpec: spec, lineage: { transport: 'file', path: events, namespace: 'shop-prod' } });
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    await platform.metadata.recordRegistry(compileProject(spec));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const orphan = await platform.metadata.startRun('materialize', { views: ['spend'], asOf: NOW }, { holder: { ...newLeaseHolder(), pid: dead }, ttlMs: 60_000 });
    expect((await listRuns(platform, 10)).map((r) => [r.id, r.status])).toEqual([[orphan.id, 'failed']]);
    await platform.close();
    const [fail, ...rest] = readFileSync(events, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RunEvent);
    expect(rest).toEqual([]);
    expect(openLineageValidator()(fail)).toEqual([]);
    expect(fail).toMatchObject({ eventType: 'FAIL', run: { runId: orphan.id }, job: { name: 'materialize.spend' } });
    expect(fail!.outputs.map((d) => `${d.namespace} ${d.name}`)).toEqual(['shop-prod.online spend']);
  });

  test('an event that breaks the schema is caught by the validator (the check is not vacuous)', () => {
    const validate = openLineageValidator();
    expect(validate({ eventType: 'START', eventTime: 'yesterday', producer: 'x', schemaURL: 'y', run: { runId: 'not-a-uuid' }, job: { namespace: 'n' } }).length).toBeGreaterThan(0);
    const facetBroken = { eventType: 'COMPLETE', eventTime: new Date().toISOString(), producer: 'https://a.b/c', schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent', run: { runId: '3f1b7a8e-2c4d-4e5f-9a6b-7c8d9e0f1a2b' }, job: { namespace: 'n', name: 'j' }, inputs: [{ namespace: 'n', name: 't', inputFacets: { dataQualityMetrics: { _producer: 'https://a.b/c', _schemaURL: 'https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet', rowCount: 'many' } } }] };
    expect(validate(facetBroken).join('\n')).toMatch(/columnMetrics|rowCount/);
  });
});
