import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, dataset, defineProject, entity, featureService, featureView, sum } from '../src/definitions/index.js';
import { lineageGraph, resolveLineageTarget, traceLineage, type RunEvent } from '../src/observability/lineage/index.js';
import { runJob } from '../src/orchestration/run-job.js';
import { openPlatform } from '../src/platform.js';
import { buildDataset } from '../src/serving/datasets/build-dataset.js';
import { openLineageValidator } from './support/openlineage-schema.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const txns = batchSource({ name: 'transactions', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/txns/*.csv' });
const spend = featureView({ name: 'spend', entity: account, source: txns, features: { total: sum('amount'), n: count() } });
const fraud = featureService({ name: 'fraud', features: [spend] });
const train = dataset({ name: 'train', service: fraud, spine: 'data/spine.csv', out: 'datasets/train.parquet', model: 'fraud-v3' });
const spec = defineProject({ name: 'shop', entities: [account], sources: [txns], featureViews: [spend], featureServices: [fraud], datasets: [train] });

const NOW = Date.parse('2024-02-01T00:00:00Z');
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe('models in lineage', () => {
  test('a declared dataset built as a job records its model; lineage walks model <-> source columns; the COMPLETE event names the model as an output, valid against the official schemas', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-models-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const events = join(dir, 'lineage.jsonl');
    const platform = openPlatform({ projectDir: dir, now: () => NOW, threads: 1, projectSpec: spec, lineage: { transport: 'file', path: events, namespace: 'shop' } });
    const project = compileProject(spec);
    await platform.metadata.recordRegistry(project);
    mkdirSync(join(dir, 'data', 'txns'), { recursive: true });
    writeFileSync(join(dir, 'data', 'txns', '2024-01-01.csv'), 'account_id,amount,ts\na1,10,2024-01-01T00:00:00Z\na2,5,2024-01-02T00:00:00Z\n');
    writeFileSync(join(dir, 'data', 'spine.csv'), `account_id,ts,label\na1,${new Date(NOW).toISOString()},1\na2,${new Date(NOW).toISOString()},0\n`);
    const jc = { ...platform, projectDir: dir };
    await runJob(jc, project, 'ingest:transactions');
    const stats = await runJob(jc, project, 'dataset:train');
    expect(stats).toMatchObject({ rowsOut: 2, out: join(dir, 'datasets', 'train.parquet'), model: 'fraud-v3' });
    // The same build path with --model, for a second model of the same features.
    const other = await buildDataset(platform, project, { spine: join(dir, 'data', 'spine.csv'), out: join(dir, 'other.parquet'), features: ['spend:n'], model: 'churn.v1' });
    expect(other.model).toBe('churn.v1');
    await expect(buildDataset(platform, project, { spine: join(dir, 'data', 'spine.csv'), out: join(dir, 'x.parquet'), features: ['spend:n'], model: 'no spaces' })).rejects.toThrow('--model: model name "no spaces" is not valid');
    const records = await platform.metadata.listDatasets(10);
    await platform.close();
    expect(records.map((r) => r.model).sort()).toEqual(['churn.v1', 'fraud-v3']);
    const trainId = records.find((r) => r.model === 'fraud-v3')!.id;
    expect(JSON.parse(readFileSync(join(dir, 'datasets', 'train.parquet.manifest.json'), 'utf8'))).toMatchObject({ model: 'fraud-v3' });

    const graph = lineageGraph(project, records);
    expect(graph.nodes.get('model:fraud-v3')).toMatchObject({ kind: 'model', columns: { spend__total: 'float64', spend__n: 'int64' } });
    const up = traceLineage(graph, resolveLineageTarget(graph, 'model:fraud-v3'), 'upstream').map((s) => s.id);
    expect(up).toEqual([`dataset:${trainId}`, 'view:spend', 'source:transactions']);
    const upColumn = traceLineage(graph, resolveLineageTarget(graph, 'model:fraud-v3.spend__total'), 'upstream').map((s) => `${s.id}.${s.column}`);
    expect(upColumn).toEqual([`dataset:${trainId}.spend__total`, 'view:spend.total', 'source:transactions.amount']);
    const down = traceLineage(graph, resolveLineageTarget(graph, 'source:transactions.amount'), 'downstream').map((s) => `${s.id}.${s.column}`);
    expect(down).toContain('model:fraud-v3.spend__total');
    expect(down).not.toContain('model:churn.v1.spend__n');
    expect(traceLineage(graph, resolveLineageTarget(graph, 'source:transactions'), 'downstream').map((s) => s.id)).toEqual(expect.arrayContaining(['model:fraud-v3', 'model:churn.v1']));

    const emitted = readFileSync(events, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as RunEvent);
    const validate = openLineageValidator();
    for (const event of emitted) expect(validate(event), `${event.job.name} ${event.eventType}`).toEqual([]);
    const complete = emitted.find((e) => e.eventType === 'COMPLETE' && e.job.name === `dataset_build.${join(dir, 'datasets', 'train.parquet')}`)!;
    // Every namespace Sluice names derives from OPENLINEAGE_NAMESPACE (here "shop"), the model's too; files keep the
    // OpenLineage naming spec's "file" (so other tools' events on the same file meet these). Before 12-01 the model's was "model".
    const namespaces = new Set(emitted.flatMap((e) => [e.job.namespace, ...e.inputs.map((d) => d.namespace), ...e.outputs.map((d) => d.namespace)]));
    expect([...namespaces].sort()).toEqual(['file', 'shop', 'shop.lake', 'shop.model', 'shop.online'].filter((n) => namespaces.has(n)));
    expect(namespaces.has('shop.model')).toBe(true);
    const model = complete.outputs.find((o) => o.namespace === 'shop.model')!;
    expect(model.name).toBe('fraud-v3');
    expect((model.facets!.columnLineage as unknown as { fields: Record<string, { inputFields: { namespace: string; name: string; field: string }[] }> }).fields.spend__total!.inputFields)
      .toEqual([expect.objectContaining({ namespace: 'file', name: join(dir, 'datasets', 'train.parquet'), field: 'spend__total' })]);
    // START names no model: the model is an output only once the dataset is written.
    expect(emitted.find((e) => e.eventType === 'START' && e.job.name === `dataset_build.${join(dir, 'datasets', 'train.parquet')}`)!.outputs.some((o) => o.namespace === 'shop.model')).toBe(false);
    // The job's own run is tracked as dataset:train, the build inside it as its child.
    expect(emitted.filter((e) => e.job.name === 'dataset:train').map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
  });
});

test("a declared dataset whose spine is missing fails naming the dataset, the path it declares and what to do", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-models-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const platform = openPlatform({ projectDir: dir, now: () => NOW, threads: 1, projectSpec: spec });
  try {
    const project = compileProject(spec);
    await platform.metadata.recordRegistry(project);
    await expect(runJob({ ...platform, projectDir: dir }, project, 'dataset:train')).rejects.toThrow(
      `dataset "train": its spine data/spine.csv (${join(dir, 'data', 'spine.csv')}) does not exist; write the spine there (a header naming the join key(s) and the timestamp column, then one row per training example), or point the dataset's spine in sluice.config.ts at an existing file`,
    );
  } finally {
    await platform.close();
  }
});
