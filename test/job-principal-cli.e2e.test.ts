import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { sluice } from './support/cli.js';
import { auditTrailOf, sluiceAsKey } from './support/cli-as-key.js';
import { startSluice } from './support/sluice-process.js';

// The real `sluice` binary: a job run by a key's principal is authorized like a scheduled one; a refusal is a failed run with its code.
const project = (schedule: string) => `import { allow, defineProject, entity, batchSource, featureView, count, schedule } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const payments = batchSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', path: 'data/payments/*.csv' });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count() } });
export default defineProject({ name: 'jobacl', entities: [customer], sources: [payments], featureViews: [stats],
  access: [allow({ role: 'ci', run: ['ingest:payments'] })],
  schedules: [schedule({ job: stats, onNewSnapshot: payments${schedule} })] });
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-job-principal-'));
  mkdirSync(join(dir, 'data', 'payments'), { recursive: true });
  writeFileSync(join(dir, 'data', 'payments', '2026-01-01.csv'), 'customer_id,amount,ts\nc1,10,2026-01-01T00:00:00Z\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('apply refuses a schedule without "as" once the project has access rules, naming it and the fix', () => {
  writeFileSync(join(dir, 'sluice.config.ts'), project(''));
  const refused = sluice(dir, 'apply');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('schedule "materialize:stats on new snapshot of payments": the project has access rules, so a scheduled job runs as a declared identity; add as: { name: "pipeline", roles: ["pipeline"] }');
  writeFileSync(join(dir, 'sluice.config.ts'), project(", as: { name: 'nightly', roles: ['ci'] }"));
  const applied = sluice(dir, 'apply');
  expect(applied.code, applied.stderr).toBe(0);
  expect(applied.stdout).toContain('allow role "ci": run ingest:payments');
});

test('sluice run as a key without the run right is a failed POLICY_DENIED run, shown by runs --failed with the principal, and audited', async () => {
  const created = sluice(dir, '--json', 'keys', 'create', '--principal', 'ci-bot', '--role', 'ci');
  const key = created.json<{ key: string }>().key;
  expect(sluiceAsKey(dir, key, 'run', 'ingest:payments').code).toBe(0);
  const refused = sluiceAsKey(dir, key, 'run', 'materialize:stats');
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('materialize:stats: FAILED: job "materialize:stats": key:ci-bot may not run job "materialize:stats"');
  expect(refused.stdout).toContain('add allow({ role: "ci", run: ["materialize:stats"] })');
  const failed = sluice(dir, 'runs', '--failed', '--json').json<{ runs: { job: string; code: string; principal: string; trigger: string }[] }>().runs;
  expect(failed.map((r) => [r.job, r.code, r.principal, r.trigger])).toEqual([['materialize:stats', 'POLICY_DENIED', 'key:ci-bot', 'manual']]);
  expect(sluice(dir, 'runs', '--failed').stdout).toContain('POLICY_DENIED: job "materialize:stats"');
  const decisions = (await auditTrailOf(dir)).filter((r) => r.action === 'job.authorize').map((r) => [r.actor, r.target, r.outcome]);
  expect(decisions).toEqual([['key:ci-bot', 'job:ingest:payments', 'allowed'], ['key:ci-bot', 'job:materialize:stats', 'denied']]);
  // The local operator (no key) keeps the built-in right to run any job.
  expect(sluice(dir, 'run', 'materialize:stats').code).toBe(0);
});

test('the scheduler inside sluice serve runs a triggered job as its identity: refused, it is a failed POLICY_DENIED run', async () => {
  const server = await startSluice(dir, ['serve', '--port', '0']);
  try {
    writeFileSync(join(dir, 'data', 'payments', '2026-01-02.csv'), 'customer_id,amount,ts\nc2,5,2026-01-02T00:00:00Z\n');
    expect(sluice(dir, 'ingest', 'payments', '--file', join(dir, 'data', 'payments', '2026-01-02.csv')).code).toBe(0);
    const triggered = () => sluice(dir, 'runs', '--failed', '--json').json<{ runs: { job: string; code: string; principal: string; trigger: string; error: string }[] }>().runs.filter((r) => r.trigger === 'trigger');
    await vi.waitFor(() => expect(triggered()).toHaveLength(1), { timeout: 60_000, interval: 500 });
    expect(triggered()[0]).toMatchObject({ job: 'materialize:stats', code: 'POLICY_DENIED', principal: 'job:nightly' });
    expect(triggered()[0]!.error).toContain('add allow({ role: "ci", run: ["materialize:stats"] })');
  } finally {
    expect(await server.stop()).toBe(143);
  }
  const denied = (await auditTrailOf(dir)).filter((r) => r.action === 'job.authorize' && r.actor === 'job:nightly');
  expect(denied.map((r) => [r.target, r.outcome, r.details?.trigger])).toEqual([['job:materialize:stats', 'denied', 'trigger']]);
});
