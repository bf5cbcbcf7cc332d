import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { startSluice } from './support/sluice-process.js';
import { scheduleCursorOf } from './support/cli-as-key.js';

const DAY = 86_400_000;
const iso = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString();
const config = `import { defineProject, entity, batchSource, featureView, count, schedule } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts', retention: '30d' });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
export default defineProject({ name: 'ret', entities: [customer], sources: [txns], featureViews: [stats],
  schedules: [schedule({ job: 'retention:ret', cron: '0 3 * * *' })] });
`;

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-ret-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), config);
  writeFileSync(join(dir, 'txns.csv'), `customer_id,ts\nold,${iso(100)}\nc1,${iso(90)}\nc1,${iso(1)}\n`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('sluice retention run: a dry run counts, a run removes expired rows, the scheduled job is in the catalogue; a bad policy is a usage error', () => {
  const apply = sluice(dir, 'apply');
  expect(apply.code).toBe(0);
  expect(apply.stdout).toContain('retention:ret');
  expect(sluice(dir, 'ingest', 'txns', '--file', 'txns.csv').code).toBe(0);
  expect(sluice(dir, 'materialize').code).toBe(0);

  const dry = sluice(dir, 'retention', 'run', '--dry-run');
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('Dry run: nothing was removed.');
  expect(dry.stdout).toContain('lake:txns');
  const lakeRows = (r: ReturnType<typeof sluice>) => r.json<{ sources: { purge: { stores: { store: string; rows: number }[] } }[] }>().sources[0]!.purge.stores.find((s) => s.store === 'lake:txns')!.rows;
  expect(lakeRows(sluice(dir, 'retention', 'run', '--dry-run', '--json'))).toBe(2);

  expect(lakeRows(sluice(dir, 'retention', 'run', '--json'))).toBe(2);
  expect(sluice(dir, 'get', '--entity', 'customer_id=c1', '--features', 'stats:n', '--json').json<{ rows: { stats__n: number }[] }>().rows[0]!.stats__n).toBe(1);
  expect(lakeRows(sluice(dir, 'retention', 'run', '--json'))).toBe(0);

  const run = sluice(dir, 'run', 'retention:ret', '--json');
  expect(run.code).toBe(0);
  const bad = sluice(dir, 'retention', 'run', '--datasets', 'keep');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--datasets "keep" is not a policy; use flag or rewrite');
});

test('sluice worker enforces declared retention without a schedule of the user\'s: it runs the scheduler with the built-in hourly retention schedule (--no-scheduler: not)', async () => {
  const bare = join(root, 'bare');
  expect(sluice(root, 'init', 'bare').code).toBe(0);
  writeFileSync(join(bare, 'sluice.config.ts'), config.replace(",\n  schedules: [schedule({ job: 'retention:ret', cron: '0 3 * * *' })] });", ' });'));
  expect(sluice(bare, 'apply').code).toBe(0);
  const cursor = () => scheduleCursorOf(bare, 'retention:ret (built in, hourly)');
  const off = await startSluice(bare, ['worker', '--no-scheduler']);
  // Its start line says whether it runs the schedules, and which.
  expect(JSON.parse(off.stdout())).toMatchObject({ running: [], schedules: null });
  expect(await off.stop()).toBe(143);
  expect(await cursor()).toBeUndefined();
  // The scheduler's first tick is done before the worker says it runs: the schedule is known from now on.
  const worker = await startSluice(bare, ['worker']);
  expect(JSON.parse(worker.stdout())).toMatchObject({ running: [], schedules: ['retention:ret (built in, hourly)'] });
  expect(await worker.stop()).toBe(143);
  expect(await cursor()).toEqual(expect.any(Number));
}, 120_000);
