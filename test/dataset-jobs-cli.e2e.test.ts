import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const config = `import { defineProject, entity, batchSource, featureView, featureService, count, sum, schedule, dataset } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = batchSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/payments/*.csv' });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count(), total: sum('amount') } });
const fraud = featureService({ name: 'fraud', features: [stats] });
const train = dataset({ name: 'train', service: fraud, spine: 'data/spine.csv', out: 'datasets/train.parquet', model: 'fraud-v3' });
export default defineProject({ name: 'models', entities: [customer], sources: [payments], featureViews: [stats], featureServices: [fraud], datasets: [train],
  schedules: [schedule({ job: 'dataset:train', cron: '0 3 * * *' })] });
`;

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-models-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), config);
  mkdirSync(join(dir, 'data', 'payments'), { recursive: true });
  writeFileSync(join(dir, 'data', 'payments', '2026-01-01.csv'), 'customer_id,amount,ts\nc1,10,2026-01-01T00:00:00Z\nc2,5,2026-01-01T01:00:00Z\nc1,7,2026-01-02T00:00:00Z\n');
  writeFileSync(join(dir, 'data', 'spine.csv'), 'customer_id,ts,label\nc1,2026-01-03T00:00:00Z,1\nc2,2026-01-03T00:00:00Z,0\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('declared datasets as jobs and models in lineage, end to end', () => {
  test('plan and apply show the dataset and its schedule; run dataset:train --with-upstream ingests then builds it for its model', () => {
    const plan = sluice(dir, 'plan');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('dataset train');
    const apply = sluice(dir, 'apply');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('+ schedule dataset:train 0 3 * * *');
    const run = sluice(dir, 'run', 'dataset:train', '--with-upstream', '--json');
    expect(run.code, run.stderr).toBe(0);
    const ran = run.json<{ ran: { job: string; stats: { rowsOut: number; model?: string; out?: string } }[] }>().ran;
    expect(ran.map((r) => r.job)).toEqual(['ingest:payments', 'dataset:train']);
    expect(ran[1]!.stats).toMatchObject({ rowsOut: 2, model: 'fraud-v3', out: join(dir, 'datasets', 'train.parquet') });
    expect(existsSync(join(dir, 'datasets', 'train.parquet'))).toBe(true);
    const runs = sluice(dir, 'runs', '--job', 'dataset:train', '--json').json<{ runs: { job: string; status: string; trigger: string }[] }>().runs;
    expect(runs).toMatchObject([{ job: 'dataset:train', status: 'succeeded', trigger: 'manual' }]);
    const unknown = sluice(dir, 'run', 'dataset:trian');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('did you mean "dataset:train"');
  });

  test('dataset build --model records the model; lineage goes from a model to source columns and back', () => {
    const built = sluice(dir, 'dataset', 'build', '--spine', 'data/spine.csv', '--features', 'stats:n', '--out', 'counts.csv', '--model', 'churn-v1');
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toContain('for model churn-v1');
    const bad = sluice(dir, 'dataset', 'build', '--spine', 'data/spine.csv', '--features', 'stats:n', '--out', 'x.csv', '--model', 'a b');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('model name "a b" is not valid');

    type Step = { id: string; column?: string };
    const up = sluice(dir, 'lineage', 'model:fraud-v3.stats__total', '--upstream', '--json');
    expect(up.code, up.stderr).toBe(0);
    expect(up.json<{ upstream: Step[] }>().upstream.map((s) => `${s.id.replace(/^dataset:.*/, 'dataset')}.${s.column}`)).toEqual(['dataset.stats__total', 'view:stats.total', 'source:payments.amount']);
    const down = sluice(dir, 'lineage', 'source:payments.amount', '--downstream', '--json').json<{ affected: string[] }>();
    expect(down.affected).toContain('model:fraud-v3');
    expect(down.affected).not.toContain('model:churn-v1');
    const text = sluice(dir, 'lineage', 'source:payments', '--downstream');
    expect(text.stdout).toContain('model:churn-v1');
    expect(text.stdout).toContain('model:fraud-v3');
  });
});
