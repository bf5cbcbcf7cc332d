import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { AdapterError } from '../../../errors.js';
import { availableSqliteDrivers, inTransaction, openSqlite } from './sqlite-driver.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each(availableSqliteDrivers())('%s: a write the file system refuses (read-only) is an AdapterError naming the file and the fix, not a bare driver error', (driver) => {
  const path = join(dir, `${driver.replace(':', '-')}.db`);
  const db = openSqlite(path, driver);
  db.exec('CREATE TABLE t (x INTEGER)');
  // query_only refuses writes as a read-only file or directory does (SQLITE_READONLY).
  db.exec('PRAGMA query_only = ON');
  const insert = db.prepare('INSERT INTO t VALUES (1)');
  const refused = (() => {
    try {
      inTransaction(db, () => insert.run());
    } catch (error) {
      return error;
    }
  })();
  expect(refused).toBeInstanceOf(AdapterError);
  expect((refused as AdapterError).message).toBe(`metadata store ${path}: attempt to write a readonly database: make it and its directory writable (check their permissions, free disk space) and run it again`);
  expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
  db.close();
});
