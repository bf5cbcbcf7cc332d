import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { lmdbEventLog } from '../log/lmdb/lmdb-event-log.js';
import { lmdbOnlineStore } from '../online/lmdb/lmdb-online-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The file system refuses the environment: its path is inside a regular file (as a read-only
// directory or a full disk refuses it, which a test running as root cannot arrange).
const blocker = join(dir, 'not-a-directory');
writeFileSync(blocker, 'x');

test('an online store or event log whose environment cannot be opened fails naming the store, its path and the fix', () => {
  const online = join(blocker, 'online');
  expect(() => lmdbOnlineStore({ path: online })).toThrow(new RegExp(`^online store ${online} cannot be opened \\(.+\\): make it and its directory writable`));
  const log = join(blocker, 'log');
  expect(() => lmdbEventLog({ path: log })).toThrow(new RegExp(`^event log ${log} cannot be opened \\(.+\\): make it and its directory writable`));
});
