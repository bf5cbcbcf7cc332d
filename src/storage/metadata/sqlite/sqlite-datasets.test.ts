import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { openSqlite } from './sqlite-driver.js';
import { sqliteMetadataStore } from './index.js';

test('a metadata database made before one record per dataset file opens with the newest record of each file only (a file rebuilt in place had kept two)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-datasets-'));
  try {
    const path = join(dir, 'm.db');
    const old = openSqlite(path);
    old.exec('CREATE TABLE datasets (id TEXT NOT NULL, path TEXT NOT NULL, record TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (id, path));');
    const record = (id: string, file: string, createdAt: number) => ({ id, path: file, format: 'csv', spine: 's.csv', spineSha256: 'h', timestampColumn: 'ts', features: [], definitions: {}, snapshots: {}, rowCount: 1, createdAt });
    const insert = old.prepare('INSERT INTO datasets VALUES (?, ?, ?, ?)');
    // The rebuild in place (ds_b) came after ds_a; ds_c, built at the same time as ds_d, was recorded first.
    for (const r of [record('ds_a', '/x.csv', 1), record('ds_b', '/x.csv', 2), record('ds_c', '/y.csv', 5), record('ds_d', '/y.csv', 5), record('ds_e', '/z.csv', 3)]) insert.run(r.id, r.path, JSON.stringify(r), r.createdAt);
    old.close();
    const store = sqliteMetadataStore({ path });
    try {
      expect((await store.listDatasets(10)).map((d) => [d.id, d.path])).toEqual([['ds_d', '/y.csv'], ['ds_e', '/z.csv'], ['ds_b', '/x.csv']]);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
