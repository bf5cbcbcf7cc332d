import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { sluiceStoppedAt, snapshotRows } from './support/killed-cli.js';
import { openPlatform } from '../src/platform.js';
import { holderIsGone, newLeaseHolder } from '../src/orchestration/lease.js';

// `sluice retention run` and `sluice erase` stopped by SIGTERM or SIGINT in the middle of a purge.
const OLD = 'old-ZQX-9001';
const DAY = 86_400_000;
let root: string;
let template: string;

/** The purge runs and `purge.run` audit records of a project, newest last. */
async function records(dir: string) {
  const platform = openPlatform({ projectDir: dir });
  try {
    const runs = (await platform.metadata.listRuns(100, { job: 'purge' })).reverse();
    const audit = (await platform.metadata.audit.list()).filter((r) => r.action === 'purge.run');
    return { runs, audit };
  } finally {
    await platform.close();
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-purge-interrupted-'));
  template = join(root, 'template');
  expect(sluice(root, 'init', 'template').code).toBe(0);
  const config = join(template, 'sluice.config.ts');
  writeFileSync(config, readFileSync(config, 'utf8').replace("allowedLateness: '1h',", "allowedLateness: '1h',\n  retention: '30d',"));
  expect(sluice(template, 'apply', '--json').code).toBe(0);
  const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString();
  writeFileSync(join(root, 't1.csv'), `txn_id,customer_id,amount,merchant,ts\nx1,${OLD},5,m1,${at(60)}\nx2,c1,6,m1,${at(60)}\nx3,c1,7,m2,${at(2)}\nx4,c2,8,m2,${at(1)}\n`);
  expect(sluice(template, 'ingest', 'transactions', '--file', join(root, 't1.csv'), '--json').code).toBe(0);
  expect(sluice(template, 'materialize', '--json').code).toBe(0);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

test.each([
  ['SIGTERM', 143, ['retention', 'run', '--json']],
  ['SIGINT', 130, ['erase', '--entity', 'customer', '--key', OLD, '--json']],
] as const)('a purge stopped by %s mid-run says so (INTERRUPTED, finished by the re-run) in --json, its run record and its audit record, never ADAPTER_FAILED', async (signal, exit, args) => {
  const dir = join(root, signal);
  cpSync(template, dir, { recursive: true });
  const stopped = await sluiceStoppedAt(dir, 'purge.online', signal, ...args);
  expect(stopped.code, stopped.stderr).toBe(exit);
  const error = (JSON.parse(stopped.stdout) as { error: { code: string; message: string } }).error;
  expect(error.code).toBe('INTERRUPTED');
  expect(error.message).toMatch(new RegExp(`interrupted \\(${signal}\\)`));
  expect(error.message).toContain('finishes it');
  const { runs, audit } = await records(dir);
  expect(runs.at(-1)).toMatchObject({ status: 'failed', stats: { errorCode: 'INTERRUPTED' } });
  expect(runs.at(-1)!.error).toMatch(new RegExp(`interrupted \\(${signal}\\)`));
  expect(audit.at(-1)).toMatchObject({ outcome: 'failed', details: { error: 'INTERRUPTED' } });
  // The run that finishes it succeeds.
  const again = sluice(dir, ...args);
  expect(again.code, again.stderr).toBe(0);
}, 180_000);

test('sluice erase stopped by SIGINT while it waits for a lease another process holds (a materialize) exits 130 at once: nothing removed, the request still pending, audited as not started; run again, it completes', async () => {
  const dir = join(root, 'waiting');
  cpSync(template, dir, { recursive: true });
  const before = await snapshotRows(dir, 'transactions', 'customer_id');
  const holder = openPlatform({ projectDir: dir });
  const materializing = newLeaseHolder();
  try {
    expect((await holder.metadata.acquireLease('materialize:txn_stats', materializing, 600_000, holderIsGone)).acquired).toBe(true);
    const stopped = await sluiceStoppedAt(dir, 'lease.wait:materialize:txn_stats', 'SIGINT', 'erase', '--entity', 'customer', '--key', OLD, '--json');
    expect(stopped.code, stopped.stderr).toBe(130);
    const error = (JSON.parse(stopped.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('INTERRUPTED');
    expect(error.message).toMatch(new RegExp(`^interrupted \\(SIGINT\\) while waiting for materialize \\(or a purge\\) of view "txn_stats" in process ${process.pid} `));
    const [request] = await holder.metadata.erasure.list();
    expect(request).toMatchObject({ status: 'pending', completedAt: null });
    const erase = (await holder.metadata.audit.list()).filter((r) => r.action === 'erase.completed');
    expect(erase.map((r) => [r.outcome, r.details])).toEqual([['failed', expect.objectContaining({ request: request!.id, error: 'INTERRUPTED', started: false, status: 'pending' })]]);
  } finally {
    await holder.metadata.releaseLease('materialize:txn_stats', materializing.id);
    await holder.close();
  }
  expect(await snapshotRows(dir, 'transactions', 'customer_id')).toEqual(before);
  const again = sluice(dir, 'erase', '--entity', 'customer', '--key', OLD, '--json');
  expect(again.code, again.stderr).toBe(0);
  expect((JSON.parse(again.stdout) as { request: string }).request).toMatch(/^erase-/);
}, 180_000);
