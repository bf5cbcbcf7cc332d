import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, dataset, entity, featureService, featureView, modelNameProblem, planChanges, projectJobs, schedule, sqlTransform, streamSource, type DatasetSpec, type ProjectSpec, type ScheduleSpec } from './index.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = batchSource({ name: 'payments', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/payments/*.csv' });
const crm = batchSource({ name: 'crm', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts', path: 'data/crm/*.csv' });
const clicks = streamSource({ name: 'clicks', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const gold = sqlTransform({ name: 'gold', inputs: [crm], sql: 'SELECT * FROM crm', timestamp: 'ts', schema: { account_id: 'string', ts: 'timestamp' } });
const spend = featureView({ name: 'spend', entity: account, source: payments, features: { n: count() } });
const goldView = featureView({ name: 'gold_view', entity: account, source: gold, features: { n: count() } });
const clickView = featureView({ name: 'click_view', entity: account, source: clicks, features: { n: count() } });
const fraud = featureService({ name: 'fraud_v1', features: [spend, goldView, clickView] });
const spec = (datasets: readonly DatasetSpec[], schedules: readonly ScheduleSpec[] = []): ProjectSpec => ({
  kind: 'project', name: 'p', entities: [account], sources: [payments, crm, clicks], featureViews: [spend, goldView, clickView], transforms: [gold], featureServices: [fraud], datasets, schedules,
});
const train = dataset({ name: 'train', service: fraud, spine: 'data/spine.csv', out: 'datasets/train.parquet', model: 'fraud-v3' });

describe('declared datasets', () => {
  test('compiled with defaults, outside every value hash, shown by plan', () => {
    const project = compileProject(spec([train, dataset({ name: 'small', features: ['spend:n'], spine: 'spine.parquet', out: 'small.csv', timestampColumn: 'at', asKnown: true })]));
    expect(project.datasets).toEqual([
      { name: 'train', service: 'fraud_v1', spine: 'data/spine.csv', out: 'datasets/train.parquet', timestampColumn: 'ts', model: 'fraud-v3' },
      { name: 'small', features: ['spend:n'], spine: 'spine.parquet', out: 'small.csv', timestampColumn: 'at', asKnown: true },
    ]);
    const without = compileProject(spec([]));
    expect(without.datasets).toBeUndefined();
    expect(project.hash).toBe(without.hash);
    expect(project.featureViews.map((v) => v.hash)).toEqual(without.featureViews.map((v) => v.hash));
    expect(planChanges(without, project).map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual(['add dataset train', 'add dataset small']);
    const moved = compileProject(spec([{ ...train, model: 'fraud-v4' }]));
    expect(planChanges(compileProject(spec([train])), moved).map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual(['change dataset train']);
  });

  test('the job dataset:<name> runs after the jobs that write its views\' sources, and can be scheduled', () => {
    const project = compileProject(spec([train], [schedule({ job: 'dataset:train', cron: '0 3 * * *' }), schedule({ job: train, onNewSnapshot: payments })]));
    const job = projectJobs(project).find((j) => j.name === 'dataset:train')!;
    expect(job).toEqual({ name: 'dataset:train', kind: 'dataset', target: 'train', upstream: ['ingest:payments', 'transform:gold'] });
    expect(project.schedules!.map((s) => s.job)).toEqual(['dataset:train', 'dataset:train']);
    expect(() => compileProject(spec([train], [schedule({ job: 'dataset:trian', cron: '0 3 * * *' })]))).toThrow('there is no job "dataset:trian" in the project (did you mean "dataset:train"?)');
  });

  test.each([
    [{ ...train, service: 'fraud_v2' }, 'dataset "train": feature service "fraud_v2" is not in the registry (did you mean "fraud_v1"?)'],
    [{ ...train, service: undefined, features: ['spend:m'] }, 'dataset "train": feature "spend:m": view "spend" has no feature "m" (did you mean "n"?)'],
    [{ ...train, service: undefined, features: ['spent:n'] }, 'view "spent" is not in the registry (did you mean "spend"?)'],
    [{ ...train, features: ['spend:n'] }, 'dataset "train": give exactly one of service'],
    [{ ...train, service: undefined }, 'dataset "train": give exactly one of service'],
    [{ ...train, name: 'bad-name' }, 'dataset name "bad-name" is not valid'],
    [{ ...train, spine: 'data/spine.txt' }, 'dataset "train": spine "data/spine.txt" must end in .csv, .jsonl, .parquet'],
    [{ ...train, out: 42 as unknown as string }, 'dataset "train": out must be a file path relative to the project directory'],
    [{ ...train, model: 'fraud v3' }, 'dataset "train": model name "fraud v3" is not valid'],
    [{ ...train, asKnown: 'yes' as unknown as boolean }, 'dataset "train": asKnown must be true or false'],
  ])('refused at load: %#', (bad, message) => {
    expect(() => compileProject(spec([bad as DatasetSpec]))).toThrow(message);
  });

  test('names and outputs are unique; model names follow one rule', () => {
    expect(() => compileProject(spec([train, { ...train, out: 'other.parquet' }]))).toThrow('duplicate dataset name "train"');
    expect(() => compileProject(spec([train, { ...train, name: 'again', out: './datasets/train.parquet' }]))).toThrow('dataset outputs "datasets/train.parquet" and "datasets/train.parquet" collide');
    expect(modelNameProblem('churn.2026_01-b')).toBeUndefined();
    expect(modelNameProblem('model:x')).toContain('is not valid');
    expect(modelNameProblem('')).toContain('is not valid');
  });
});
