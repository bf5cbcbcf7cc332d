import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const CONFIG = `import { defineProject, entity, streamSource, featureView, count, sum, last } from 'sluice';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments',
  schema: { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' },
  timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h',
});
const stats = featureView({ name: 'stats', entity: account, source: payments, features: { n_1h: count({ window: '1h' }), total: sum('amount'), last_id: last('payment_id') } });

export default defineProject({ name: 'rt', entities: [account], sources: [payments], featureViews: [stats] });
`;

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-rt-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  writeFileSync(join(dir, 'sluice.config.ts'), CONFIG);
  expect(sluice(dir, 'apply').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

test('sluice serve takes pushes (durable, online at once), sluice get and status see them from other processes, a backfill file joins the same history, and a clean stop commits to the lake', async () => {
  const port = await freePort();
  const server = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'sluice.js'), 'serve', '--port', String(port), '--log-level', 'warn'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stopped = new Promise<number | null>((resolve) => server.on('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.on('data', (d: Buffer) => d.toString().includes('serving on') && resolve());
      server.on('exit', () => reject(new Error(`serve exited: ${stderr}`)));
    });
    const now = Date.now();
    const event = (id: string, amount: number, agoMs: number) => ({ payment_id: id, account_id: 'a1', amount, ts: new Date(now - agoMs).toISOString() });
    const push = await fetch(`http://127.0.0.1:${port}/v1/push/payments`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [event('p1', 10, 60_000), event('p2', 5, 30_000), event('p1', 10, 60_000), event('old', 1, 3 * 3_600_000)] }),
    });
    expect(push.status).toBe(200);
    expect(await push.json()).toMatchObject({ accepted: 2, duplicates: 1, rejected: [{ index: 3, reason: expect.stringMatching(/^late: /) }] });
    const got = sluice(dir, 'get', '--entity', 'account_id=a1', '--features', 'stats:n_1h,stats:total,stats:last_id', '--json').json<{ rows: Record<string, unknown>[] }>();
    expect(got.rows[0]).toEqual({ account_id: 'a1', stats__n_1h: 2, stats__total: 15, stats__last_id: 'p2' });
    const status = sluice(dir, 'status', '--json').json<{ streams: Array<Record<string, unknown>> }>().streams;
    expect(status[0]).toMatchObject({ source: 'payments', kind: 'stream', offset: 1, views: { stats: 0 } });
    writeFileSync(join(dir, 'backfill.csv'), ['payment_id,account_id,amount,ts', 'b1,a1,100,2024-01-01T00:00:00Z'].join('\n'));
    const ingested = sluice(dir, 'ingest', 'payments', '--file', 'backfill.csv');
    expect(ingested.stdout).toMatch(/applied to the online tables of stats/);
    expect(sluice(dir, 'get', '--entity', 'account_id=a1', '--features', 'stats:total', '--json').json<{ rows: Record<string, unknown>[] }>().rows[0]!.stats__total).toBe(115);
    const streams = await (await fetch(`http://127.0.0.1:${port}/v1/streams`)).json() as { sources: unknown[]; freshness: Array<{ view: string; count: number }> };
    expect(streams.freshness[0]).toMatchObject({ view: 'stats', count: 1 });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^sluice_push_events_total\{source="payments",origin="push",outcome="accepted"\} 2$/m);
    expect(metrics).toMatch(/^sluice_push_rejected_events_total\{source="payments",reason="late"\} 1$/m);
    expect(metrics).toMatch(/^sluice_job_runs_total\{job="ingest",status="succeeded"\} 1$/m);
  } finally {
    server.kill('SIGTERM');
  }
  expect(await stopped).toBe(143);
  const snapshots = sluice(dir, 'list', 'snapshots', '--source', 'payments', '--json').json<Array<{ rows: number }>>();
  expect(snapshots[0]!.rows).toBe(3);
  expect(sluice(dir, 'dlq', '--source', 'payments', '--json').json<{ rows: Array<{ reason: string }> }>().rows[0]!.reason).toMatch(/^late: /);
}, 120_000);
