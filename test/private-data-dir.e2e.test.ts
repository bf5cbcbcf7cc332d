import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice, sluiceOk } from './support/cli.js';

// The data directory holds what masking and access control guard (the lake's Parquet files,
// metadata.db with raw dead-letter rows, the serving log): it was 0755 with 0644 files, readable by
// every OS account (review rev11, finding 2). Now it is 0700 and what Sluice writes in it 0600; a
// user's own output (a dataset's --out) keeps the user's umask.

const mode = (path: string) => statSync(path).mode & 0o777;

/** Every file and directory under `dir`. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? [path, ...walk(path)] : [path];
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-private-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  sluiceOk(dir, 'apply');
  sluiceOk(dir, 'ingest', 'customers', 'data/customers.csv');
  sluiceOk(dir, 'ingest', 'transactions', 'data/transactions.csv');
  sluiceOk(dir, 'materialize');
  sluiceOk(dir, 'dataset', 'build', '--service', 'fraud_v1', '--spine', 'data/labels.csv', '--out', 'train.parquet');
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the data directory Sluice creates is 0700, and nothing it writes there is readable by group or others', () => {
  const data = join(dir, '.sluice');
  expect(mode(data).toString(8)).toBe('700');
  const paths = walk(data);
  expect(paths.some((p) => p.endsWith('metadata.db'))).toBe(true);
  expect(paths.some((p) => p.endsWith('.parquet'))).toBe(true);
  const open = paths.filter((p) => (mode(p) & 0o077) !== 0).map((p) => `${p} ${mode(p).toString(8)}`);
  expect(open).toEqual([]);
});

test('a dataset written to --out, and its manifest, keep the user\'s umask', () => {
  const umask = process.umask();
  expect(mode(join(dir, 'train.parquet')).toString(8)).toBe((0o666 & ~umask).toString(8));
  expect(mode(join(dir, 'train.parquet.manifest.json')).toString(8)).toBe((0o666 & ~umask).toString(8));
});

test('an existing data directory open to other users is made private, with a warning that says so and how to tighten its older files', () => {
  const data = join(dir, '.sluice');
  chmodSync(data, 0o755);
  const status = sluice(dir, 'status');
  expect(status.stderr).toContain(`warning: the data directory ${data} was readable by other OS users (mode 0755): made it private (0700)`);
  expect(status.stderr).toContain(`chmod -R go-rwx ${data}`);
  expect(mode(data).toString(8)).toBe('700');
  // Once private, no warning.
  expect(sluice(dir, 'status').stderr).not.toContain('readable by other OS users');
});
