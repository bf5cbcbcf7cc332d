import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { auditTrailOf, scheduleCursorOf } from './support/cli-as-key.js';
import { startSluice } from './support/sluice-process.js';

// Review rev-b: the scheduler of a worker started before `apply` declared retention never ran it;
// worker, scheduler and serve ignored SLUICE_API_KEY, even a bad one; `retention run` kept its own
// copy of the authorization rule and never audited an allowed run.

const config = (retention: string) => `import { defineProject, entity, batchSource, featureView, count, allow } from 'sluice';
const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const txns = batchSource({ name: 'txns', schema: { customer_id: 'string', ts: 'timestamp' }, timestamp: 'ts'${retention} });
const stats = featureView({ name: 'stats', entity: customer, source: txns, features: { n: count() } });
export default defineProject({ name: 'ops', entities: [customer], sources: [txns], featureViews: [stats],
  access: [allow({ role: 'ops', admin: ['serve'] }), allow({ role: 'reader', admin: ['status'] })] });
`;

let root: string;
let dir: string;
let reader: string;
let ops: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-ops-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), config(''));
  expect(sluice(dir, 'apply').code).toBe(0);
  const key = (principal: string, role: string) => sluice(dir, '--json', 'keys', 'create', '--principal', principal, '--role', role).json<{ key: string }>().key;
  reader = key('watcher', 'reader');
  ops = key('ops', 'ops');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('sluice retention run asks admin: ["retention"] through the one CLI rule: the allowed decision is audited too', async () => {
  const run = sluice(dir, 'retention', 'run', '--dry-run');
  expect(run.code, run.stderr).toBe(0);
  const decisions = (await auditTrailOf(dir)).filter((r) => r.action === 'admin.retention');
  expect(decisions).toEqual([expect.objectContaining({ outcome: 'allowed', target: 'admin:retention' })]);
});

test('sluice worker, scheduler and serve refuse a bad SLUICE_API_KEY instead of ignoring it, and ask a key admin: ["serve"]', async () => {
  const start = (args: readonly string[], key: string) => startSluice(dir, args, { SLUICE_API_KEY: key }).then(async (p) => `ran (stopped: ${await p.stop()})`, (error: Error) => error.message);
  for (const args of [['worker'], ['scheduler'], ['serve', '--port', '0']]) {
    expect(await start(args, 'sk_not_a_key')).toMatch(/exited \(\d+\) before it was ready:[\s\S]*SLUICE_API_KEY is not a valid API key/);
    expect(await start(args, reader)).toMatch(/exited \(\d+\) before it was ready:[\s\S]*key:watcher may not run admin action \W+serve/);
  }
  expect(await start(['worker', '--no-scheduler'], ops)).toBe('ran (stopped: 143)');
  const decisions = (await auditTrailOf(dir)).filter((r) => r.action === 'admin.serve');
  expect(decisions.map((r) => `${r.actor} ${r.outcome}`)).toEqual([...Array<string>(3).fill('key:watcher denied'), 'key:ops allowed']);
}, 300_000);

test('a scheduler, worker or server started with a key stops when the key is revoked or loses admin: ["serve"] (checked again every SLUICE_KEY_RECHECK_MS), audited', async () => {
  const id = (token: string) => token.split('_')[1]!;
  const doomed = sluice(dir, '--json', 'keys', 'create', '--principal', 'doomed', '--role', 'ops').json<{ key: string }>().key;
  const scheduler = await startSluice(dir, ['scheduler'], { SLUICE_API_KEY: doomed, SLUICE_KEY_RECHECK_MS: '200' });
  try {
    expect(sluice(dir, 'keys', 'revoke', id(doomed)).code).toBe(0);
    const code = await Promise.race([scheduler.exited, new Promise((resolve) => setTimeout(() => resolve('still running after 60 s'), 60_000))]);
    expect(code, scheduler.stderr()).not.toBe(0);
    expect(code).not.toBe('still running after 60 s');
    // The refusal is audited as at start (the error itself goes to stdout with --json).
    const denied = (await auditTrailOf(dir)).filter((r) => r.action === 'auth.denied' && (r.details as { keyId?: string } | undefined)?.keyId === id(doomed));
    expect(denied.length).toBeGreaterThan(0);
    // It names the process the refusal shut down.
    expect(denied.at(-1)).toMatchObject({ target: 'cli:scheduler', details: { shutDown: 'scheduler' } });
  } finally {
    await scheduler.stop();
  }
  // A key that keeps running is checked without an audit record per check.
  const kept = await startSluice(dir, ['worker', '--no-scheduler'], { SLUICE_API_KEY: ops, SLUICE_KEY_RECHECK_MS: '200' });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(await kept.stop()).toBe(143);
  const decisions = (await auditTrailOf(dir)).filter((r) => r.actor === 'key:ops' && r.action === 'admin.serve');
  expect(decisions.length).toBeLessThan(4);
}, 300_000);

test('a worker started on a project without schedules runs retention once an apply declares it (the scheduler re-reads the project)', async () => {
  const cursor = () => scheduleCursorOf(dir, 'retention:ops (built in, hourly)');
  const worker = await startSluice(dir, ['worker']);
  try {
    writeFileSync(join(dir, 'sluice.config.ts'), config(", retention: '30d'"));
    expect(sluice(dir, 'apply').code).toBe(0);
    for (let i = 0; i < 600 && (await cursor()) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await cursor()).toEqual(expect.any(Number));
  } finally {
    expect(await worker.stop()).toBe(143);
  }
}, 180_000);
