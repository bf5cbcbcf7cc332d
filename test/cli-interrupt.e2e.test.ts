import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { sluiceSignalledAt, snapshotRows } from './support/killed-cli.js';

// Ctrl-C (SIGINT) or SIGTERM during a command that runs to its end: the command says on stderr
// that it was interrupted and what state it leaves, exits 128 + the signal (130, 143), and the same
// command run again does the work exactly once.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-interrupt-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  expect(sluice(dir, 'apply').code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('an ingest interrupted before its commit says nothing was committed and exits 130; run again, it ingests its rows once', async () => {
  const stopped = await sluiceSignalledAt(dir, 'ingest.checked', 'SIGINT', 'ingest', 'transactions', 'data/transactions.csv');
  expect(stopped.code).toBe(130);
  expect(stopped.stderr).toContain('interrupted (SIGINT): ingest of "transactions" stopped; nothing was committed to "transactions" (it has no snapshot yet); run the same command again');
  expect(await snapshotRows(dir, 'transactions', 'txn_id')).toEqual([]);
  const again = sluice(dir, 'ingest', 'transactions', 'data/transactions.csv');
  expect(again.code, again.stderr).toBe(0);
  const rows = await snapshotRows(dir, 'transactions', 'txn_id');
  expect(rows).toHaveLength(1);
  expect(new Set(rows[0]).size).toBe(rows[0]!.length);
  // No stale lease or run: a third run finds the file ingested, nothing doubled.
  expect(sluice(dir, 'ingest', 'transactions', 'data/transactions.csv').stdout).toContain('was already ingested');
  expect(await snapshotRows(dir, 'transactions', 'txn_id')).toEqual(rows);
});

test('an interrupted command records its run as interrupted by that signal, ended when it stopped, not as a process that died, timed when someone looked', async () => {
  const stopped = await sluiceSignalledAt(dir, 'ingest.checked', 'SIGINT', 'ingest', 'transactions', 'data/transactions.csv', '--force');
  expect(stopped.code).toBe(130);
  const stoppedBy = Date.now();
  const listed = sluice(dir, 'runs', '--failed', '--job', 'ingest', '--limit', '1', '--json');
  expect(listed.code, listed.stderr).toBe(0);
  const [run] = (JSON.parse(listed.stdout) as { runs: { status: string; error: string; finishedAt: string }[] }).runs;
  expect(run).toMatchObject({ status: 'failed', error: 'interrupted (SIGINT): ingest of "transactions" stopped' });
  expect(Date.parse(run!.finishedAt)).toBeLessThanOrEqual(stoppedBy);
});

test('a materialize stopped by SIGTERM names the views it did not switch in and exits 143; run again, it succeeds', async () => {
  const stopped = await sluiceSignalledAt(dir, 'materialize.snapshot-read', 'SIGTERM', 'materialize', '--views', 'txn_stats');
  expect(stopped.code).toBe(143);
  expect(stopped.stderr).toContain('interrupted (SIGTERM): materialize stopped; no online table was switched in; txn_stats keeps serving its previous table; run "sluice materialize --views txn_stats"');
  expect(sluice(dir, 'materialize', '--views', 'txn_stats').code).toBe(0);
});

test('an interrupted full materialize keeps job:materialize firing until per-view runs have materialized every view it left, then sluice status is healthy', async () => {
  const fresh = mkdtempSync(join(tmpdir(), 'sluice-interrupt-views-'));
  try {
    cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), fresh, { recursive: true });
    expect(sluice(fresh, 'apply').code).toBe(0);
    const stopped = await sluiceSignalledAt(fresh, 'materialize.snapshot-read', 'SIGTERM', 'materialize');
    expect(stopped.code).toBe(143);
    const unhealthy = sluice(fresh, 'status', '--json');
    expect(unhealthy.code).toBe(3);
    expect(unhealthy.json<{ problems: string[] }>().problems).toEqual([expect.stringMatching(/^job_failed job:materialize: /)]);
    for (const view of ['txn_stats', 'small_txns']) expect(sluice(fresh, 'materialize', '--views', view).code).toBe(0);
    // One view the interrupted run left is still not materialized: the condition fires, naming it.
    const partly = sluice(fresh, 'status', '--json');
    expect(partly.code).toBe(3);
    expect(partly.json<{ problems: string[] }>().problems).toEqual([expect.stringMatching(/^job_failed job:materialize: .*views not materialized since: profile/)]);
    expect(sluice(fresh, 'materialize', '--views', 'profile').code).toBe(0);
    const healthy = sluice(fresh, 'status', '--json');
    expect(healthy.code, healthy.stdout).toBe(0);
    expect(healthy.json<{ healthy: boolean; problems: string[] }>()).toMatchObject({ healthy: true, problems: [] });
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});

test('a dataset build interrupted before it published says nothing was published, leaves no temporary file, and builds when run again', async () => {
  const args = ['dataset', 'build', '--spine', 'data/labels.csv', '--service', 'fraud_v1', '--out', 'out/train.parquet'];
  const stopped = await sluiceSignalledAt(dir, 'dataset.staged', 'SIGINT', ...args);
  expect(stopped.code).toBe(130);
  expect(stopped.stderr).toContain(`interrupted (SIGINT): dataset build stopped; nothing was published at ${join(dir, 'out', 'train.parquet')} (its temporary files were removed); run the same command again`);
  expect(readdirSync(join(dir, 'out'))).toEqual([]);
  const again = sluice(dir, ...args);
  expect(again.code, again.stderr).toBe(0);
  expect(existsSync(join(dir, 'out', 'train.parquet.manifest.json'))).toBe(true);
});

test('a dataset build interrupted after its manifest was written but before the dataset was recorded says so, not that it was published', async () => {
  const args = ['dataset', 'build', '--spine', 'data/labels.csv', '--service', 'fraud_v1', '--out', 'out/late.parquet'];
  const stopped = await sluiceSignalledAt(dir, 'dataset.manifest-written', 'SIGINT', ...args);
  expect(stopped.code).toBe(130);
  expect(stopped.stderr).toContain(`the dataset and its manifest were written at ${join(dir, 'out', 'late.parquet')}, but the dataset was not recorded (sluice datasets does not list it); run the same command again`);
  expect(sluice(dir, 'datasets').stdout).not.toContain('late.parquet');
  const again = sluice(dir, ...args);
  expect(again.code, again.stderr).toBe(0);
  expect(sluice(dir, 'datasets').stdout).toContain('late.parquet');
});

test('a rebuild from a manifest without --out, interrupted, names the path it writes (the dataset beside the manifest)', async () => {
  const built = sluice(dir, 'dataset', 'build', '--spine', 'data/labels.csv', '--service', 'fraud_v1', '--out', 'out/again.parquet');
  expect(built.code, built.stderr).toBe(0);
  const stopped = await sluiceSignalledAt(dir, 'dataset.staged', 'SIGINT', 'dataset', 'build', '--manifest', 'out/again.parquet.manifest.json');
  expect(stopped.code).toBe(130);
  expect(stopped.stderr).toContain(`nothing was published at ${join(dir, 'out', 'again.parquet')} (its temporary files were removed); run the same command again`);
});

test('a "sluice run" stopped by SIGTERM says so and exits 143; its runs say they were interrupted by it, not that their process died', async () => {
  const stopped = await sluiceSignalledAt(dir, 'materialize.snapshot-read', 'SIGTERM', 'run', 'materialize:txn_stats');
  expect(stopped.code).toBe(143);
  expect(stopped.stderr).toContain('interrupted (SIGTERM): run of materialize:txn_stats stopped; 0 of 1 job(s) had finished; see "sluice runs"; run the same command again');
  const listed = sluice(dir, 'runs', '--failed', '--job', 'materialize:txn_stats', '--limit', '1', '--json');
  expect((JSON.parse(listed.stdout) as { runs: { error: string }[] }).runs[0]).toMatchObject({ error: 'interrupted (SIGTERM): run of materialize:txn_stats stopped' });
  expect(sluice(dir, 'run', 'materialize:txn_stats').code).toBe(0);
});
