import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

// A new user is led from init to data in the online store (review rev4 finding 10).
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-init-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('init, apply and materialize say to ingest the sample data while the sources have none; materialize of empty sources says so', () => {
  const init = sluice(root, 'init', 'proj');
  expect(init.stdout).toContain('sluice ingest transactions data/transactions.csv && sluice ingest customers data/customers.csv && sluice materialize');
  const dir = join(root, 'proj');
  expect(sluice(dir, 'apply').stdout).toContain('No data yet in sources transactions, customers: "sluice ingest <source> <file>" loads a file into one, then "sluice materialize" fills the online store');
  const empty = sluice(dir, 'materialize');
  expect(empty.code).toBe(0);
  expect(empty.stdout).toContain('view "txn_stats" read no events: source "transactions" has no data yet ("sluice ingest transactions <file>")');
  expect(sluice(dir, 'ingest', 'transactions', 'data/transactions.csv').code).toBe(0);
  const fed = sluice(dir, 'materialize', '--views', 'txn_stats');
  expect(fed.stdout).not.toContain('no data yet');
});
