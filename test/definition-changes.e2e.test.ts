import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';

let dir: string;
const config = () => join(dir, 'sluice.config.ts');
const edit = (from: string, to: string) => writeFileSync(config(), readFileSync(config(), 'utf8').replace(from, to));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-changes-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  for (const args of [['apply'], ['ingest', 'transactions', '--file', 'data/transactions.csv'], ['materialize']]) expect(sluice(dir, ...args).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a changed view: plan names the feature and property, apply asks to rematerialize, the old table serves until then', () => {
  edit("sum('amount', { window: '24h' })", "sum('amount', { window: '48h' })");
  const plan = sluice(dir, 'plan');
  expect(plan.stdout).toContain('~ featureView txn_stats: feature amount_sum_24h window 24h -> 48h (rematerialize)');
  expect(plan.stdout).toContain('To rematerialize after apply: txn_stats.');
  expect(sluice(dir, 'apply', '--json').json()).toMatchObject({ registryVersion: 2, rematerialize: ['txn_stats'] });

  const get = sluice(dir, 'get', '--entity', 'customer_id=c1', '--features', 'txn_stats:amount_sum_24h,txn_stats:last_amount', '--json').json<{ metadata: Array<{ status: string[] }>; views: Record<string, { previousDefinition: boolean }> }>();
  expect(get.metadata[0]!.status).toEqual(['NOT_MATERIALIZED', 'PRESENT']);
  expect(get.views.txn_stats!.previousDefinition).toBe(true);
  expect(sluice(dir, 'get', '--entity', 'customer_id=c1', '--features', 'txn_stats:amount_sum_24h').stdout).toContain('view "txn_stats" is served by the table of its previous definition');

  expect(sluice(dir, 'materialize', '--views', 'txn_stats').code).toBe(0);
  const after = sluice(dir, 'get', '--entity', 'customer_id=c1', '--features', 'txn_stats:amount_sum_24h', '--json').json<{ metadata: Array<{ status: string[] }>; views: Record<string, { previousDefinition: boolean }> }>();
  // The sample data is older than 48h: a computed empty window, no longer NOT_MATERIALIZED.
  expect(after.metadata[0]!.status).toEqual(['NULL']);
  expect(after.views.txn_stats!.previousDefinition).toBe(false);
});

test('a description is not a value change; a retyped column is refused with what to do', () => {
  edit("name: 'txn_stats',", "name: 'txn_stats', description: 'spend per customer',");
  expect(sluice(dir, 'plan').stdout).toContain('~ featureView txn_stats: description changed\n');
  expect(sluice(dir, 'apply', '--json').json()).toMatchObject({ rematerialize: [] });

  edit("merchant: 'string'", "merchant: 'int64'");
  expect(sluice(dir, 'plan').stdout).toMatch(/refused: source "transactions": column "merchant" cannot change type from string to int64/);
  const apply = sluice(dir, 'apply');
  expect(apply.code).toBe(1);
  expect(apply.stderr).toMatch(/cannot apply:\n.*column "merchant" cannot change type.*add a new column/);
});
