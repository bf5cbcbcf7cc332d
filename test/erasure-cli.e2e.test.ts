import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

const KEY = 'cli-ZQX-5151';
let root: string;
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-erase-cli-'));
  dir = join(root, 'proj');
  expect(sluice(root, 'init', 'proj').code).toBe(0);
  expect(sluice(dir, 'apply', '--json').code).toBe(0);
  writeFileSync(join(dir, 'mine.csv'), `txn_id,customer_id,amount,merchant,ts\nx1,${KEY},5,m1,2024-03-01T10:00:00Z\nx2,c1,6,m1,2024-03-01T11:00:00Z\n`);
  expect(sluice(dir, 'ingest', 'transactions', '--file', 'mine.csv', '--json').json()).toMatchObject({ accepted: 2 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('sluice erase prints the certificate (--json), --status lists the request against its deadline, and the key cannot come back', () => {
  const erased = sluice(dir, 'erase', '--entity', 'customer', '--key', KEY, '--reason', 'ticket 9', '--json');
  expect(erased.code).toBe(0);
  const certificate = erased.json<{ request: string; rows: number; stores: { store: string; rows: number }[]; withinDeadline: boolean }>();
  expect(certificate).toMatchObject({ request: 'erase-1', withinDeadline: true });
  expect(certificate.stores.find((s) => s.store === 'lake:transactions')).toMatchObject({ rows: 1 });
  expect(erased.stdout).not.toContain(KEY);
  const human = sluice(dir, 'erase', '--status');
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/erase-1\s+customer\s+[0-9a-f]{12}\.\.\.\s+COMPLETED/);
  expect(human.stdout).toContain('0 pending, 1 completed');
  expect(sluice(dir, 'erase', '--status', '--json').json()).toMatchObject({ pending: 0, completed: 1, overdue: 0 });
  writeFileSync(join(dir, 'again.csv'), `txn_id,customer_id,amount,merchant,ts\nx3,${KEY},5,m1,2024-03-02T10:00:00Z\n`);
  expect(sluice(dir, 'ingest', 'transactions', '--file', 'again.csv', '--json').json()).toMatchObject({ accepted: 0, rejected: 1 });
});

test('a mistaken call names the fix: usage errors exit 2, an unknown entity exits 1', () => {
  const usage = sluice(dir, 'erase', '--entity', 'customer');
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain('give the subject: sluice erase --entity <entity> --key <key>');
  const unknown = sluice(dir, 'erase', '--entity', 'custmer', '--key', 'x');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('entity "custmer" is not in the registry (did you mean "customer"?)');
});
