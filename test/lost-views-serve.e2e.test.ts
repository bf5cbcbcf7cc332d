import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { freePort } from './support/free-port.js';
import { startSluice, type SluiceProcess } from './support/sluice-process.js';

// A real `sluice serve` after a simulated reboot: the online store had commits not flushed when the
// machine went down (a marker naming an earlier boot), so it starts empty; the fraud example's
// views (all of batch sources) come back by themselves, with the values served before.
const dirs: string[] = [];
const running: SluiceProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.kill().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Answer { rows: Record<string, unknown>[]; views: Record<string, { status: string; snapshots?: unknown }> }

async function serveAndAsk(dir: string): Promise<{ server: SluiceProcess; ask: () => Promise<Answer> }> {
  const port = await freePort();
  const server = await startSluice(dir, ['serve', '--port', String(port)]);
  running.push(server);
  const ask = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/features/online`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'fraud_v1', entities: { customer_id: ['c1', 'c2', 'c3', 'zz'] } }) });
    expect(res.status).toBe(200);
    return (await res.json()) as Answer;
  };
  return { server, ask };
}

/**
 * The fraud example ingested and materialized, its answer taken from a first `sluice serve`
 * (stopped), then what a power loss leaves: the marker of a process whose commits were not flushed,
 * naming an earlier boot, so the next start finds the online store empty.
 */
async function servedThenRebooted(prefix: string): Promise<{ dir: string; before: Answer }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  const now = Date.now();
  const iso = (agoMs: number) => new Date(now - agoMs).toISOString();
  writeFileSync(join(dir, 'data', 'recent.csv'), ['txn_id,customer_id,amount,merchant,ts', `r1,c1,10.25,m1,${iso(3 * 86_400_000)}`, `r2,c1,0.1,m2,${iso(2 * 86_400_000)}`, `r4,c2,5,m1,${iso(4 * 86_400_000)}`].join('\n'));
  writeFileSync(join(dir, 'data', 'profiles.csv'), ['customer_id,segment,updated_at', `c1,gold,${iso(86_400_000)}`, `c2,silver,${iso(40 * 86_400_000)}`].join('\n'));
  for (const args of [['apply'], ['ingest', 'transactions', '--file', 'data/recent.csv'], ['ingest', 'customers', '--file', 'data/profiles.csv'], ['materialize']]) {
    expect(sluice(dir, ...args).code).toBe(0);
  }
  const first = await serveAndAsk(dir);
  const before = await first.ask();
  expect(Object.values(before.views).map((v) => v.status)).not.toContain('NOT_MATERIALIZED');
  expect(await first.server.stop()).toBe(143);
  writeFileSync(join(dir, '.sluice', 'online', 'unflushed-1-gone'), 'an-earlier-boot\n');
  return { dir, before };
}

/** A new `sluice serve` answers, once no view is NOT_MATERIALIZED any more, the rows and snapshots answered before the reboot. */
async function servesAsBefore(dir: string, before: Answer): Promise<SluiceProcess> {
  const second = await serveAndAsk(dir);
  let after = await second.ask();
  for (let i = 0; i < 600 && Object.values(after.views).some((v) => v.status === 'NOT_MATERIALIZED'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    after = await second.ask();
  }
  expect(after.rows).toEqual(before.rows);
  expect(Object.fromEntries(Object.entries(after.views).map(([name, v]) => [name, v.snapshots]))).toEqual(Object.fromEntries(Object.entries(before.views).map(([name, v]) => [name, v.snapshots])));
  expect(second.server.stderr()).toMatch(/rebuilt from the lake/);
  return second.server;
}

test('sluice serve after a reboot that lost online commits: the batch views come back by themselves, with the same values', async () => {
  const { dir, before } = await servedThenRebooted('sluice-lost-views-');
  await servesAsBefore(dir, before);
  expect(sluice(dir, 'runs').stdout).toMatch(/recovery/);
});

test('sluice serve killed in the middle of a rebuild: the next start rebuilds the view from the lake, with the same values, and the killed run shows as failed', async () => {
  const { dir, before } = await servedThenRebooted('sluice-lost-views-killed-');
  // The background rebuild of the batch view "profile" stops once it has handed out the states of its first chunk (a table half written), and the process is killed there.
  const paused = await startSluice(dir, ['serve', '--port', String(await freePort())], { SLUICE_TEST_PAUSE_AT: 'materialize.chunk-read:profile' });
  running.push(paused);
  for (let i = 0; i < 600 && !paused.stderr().includes('SLUICE_TEST_PAUSED materialize.chunk-read:profile'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(paused.stderr()).toContain('SLUICE_TEST_PAUSED materialize.chunk-read:profile');
  await paused.kill();

  await servesAsBefore(dir, before);
  const { runs } = JSON.parse(sluice(dir, 'runs', '--json').stdout) as { runs: { job: string; status: string; error: string | null; trigger: string | null }[] };
  const recoveries = runs.filter((r) => r.job === 'materialize' && r.trigger === 'recovery');
  expect(recoveries.some((r) => r.status === 'failed' && /died/.test(r.error ?? ''))).toBe(true);
  expect(recoveries.some((r) => r.status === 'succeeded')).toBe(true);
});
