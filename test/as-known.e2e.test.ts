import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-known-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  expect(sluice(dir, 'apply').code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const lines = (path: string) => readFileSync(join(dir, path), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('sluice ingest --known-at and dataset build --as-known, end to end', () => {
  test('a file ingested with --known-at ingestion is seen by as-known rows only after it was ingested; the manifest rebuilds it; datasets shows the mode', () => {
    expect(sluice(dir, 'ingest', 'transactions', '--file', 'data/transactions.csv', '--json').json()).toMatchObject({ accepted: expect.any(Number) });
    // History Sluice learns only today: a 2024 payment, known now (the real clock, after 2024).
    writeFileSync(join(dir, 'late.csv'), 'txn_id,customer_id,amount,merchant,ts\nlate1,c1,1000,m9,2024-03-01T09:00:00Z\n');
    const late = sluice(dir, 'ingest', 'transactions', '--file', 'late.csv', '--known-at', 'ingestion', '--json');
    expect(late.code).toBe(0);
    expect(late.json()).toMatchObject({ accepted: 1 });
    writeFileSync(join(dir, 'spine.csv'), 'customer_id,ts\nc1,2024-03-01T10:30:00Z\nc1,2099-01-01T00:00:00Z\n');
    const features = ['--features', 'txn_stats:amount_sum_24h,txn_stats:last_amount'];
    const byEvent = sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', ...features, '--out', 'out/event.jsonl', '--json');
    const asKnown = sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', ...features, '--out', 'out/known.jsonl', '--as-known', '--json');
    expect(byEvent.code).toBe(0);
    expect(asKnown.code).toBe(0);
    const eventId = byEvent.json<{ datasetId: string }>().datasetId;
    const known = asKnown.json<{ datasetId: string; asKnown?: boolean }>();
    expect(known.asKnown).toBe(true);
    expect(known.datasetId).not.toBe(eventId);
    // 10.5 at 10:00 is known at 10:30; the 1000 at 09:00 is not, yet.
    expect(lines('out/event.jsonl')[0]).toMatchObject({ txn_stats__amount_sum_24h: 1010.5, txn_stats__last_amount: 10.5 });
    expect(lines('out/known.jsonl')[0]).toMatchObject({ txn_stats__amount_sum_24h: 10.5, txn_stats__last_amount: 10.5 });
    // Once known, both modes agree.
    expect(lines('out/known.jsonl')[1]).toEqual(lines('out/event.jsonl')[1]);
    expect(sluice(dir, 'dataset', 'build', '--spine', 'spine.csv', ...features, '--out', 'out/known.jsonl', '--as-known').stdout).toContain('(as known)');

    const manifest = JSON.parse(readFileSync(join(dir, 'out/known.jsonl.manifest.json'), 'utf8')) as { asKnown?: boolean };
    expect(manifest.asKnown).toBe(true);
    const rebuilt = sluice(dir, 'dataset', 'build', '--manifest', 'out/known.jsonl.manifest.json', '--out', 'out/again.jsonl', '--json');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.json<{ datasetId: string }>().datasetId).toBe(known.datasetId);
    expect(readFileSync(join(dir, 'out/again.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'out/known.jsonl'), 'utf8'));

    const listed = sluice(dir, 'datasets', '--json').json<{ id: string; time: string }[]>();
    expect(listed.find((d) => d.id === known.datasetId)?.time).toBe('as-known');
    expect(listed.find((d) => d.id === eventId)?.time).toBe('event');
    expect(sluice(dir, 'datasets').stdout).toContain('as-known');
  });

  test('bad uses are usage errors naming the fix', () => {
    const bad = sluice(dir, 'ingest', 'transactions', '--file', 'late.csv', '--known-at', 'later');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--known-at later: use event or ingestion');
    const both = sluice(dir, 'dataset', 'build', '--manifest', 'out/known.jsonl.manifest.json', '--as-known');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--manifest takes the spine, features, time mode and model from the manifest');
  });
});
