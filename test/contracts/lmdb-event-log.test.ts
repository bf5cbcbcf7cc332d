import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { lmdbEventLog } from '../../src/storage/log/lmdb/index.js';
import { runEventLogContract } from './event-log.contract.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LMDB event log contract', () => {
  runEventLogContract('lmdb', () => {
    const path = mkdtempSync(join(tmpdir(), 'sluice-log-contract-'));
    dirs.push(path);
    return { open: () => lmdbEventLog({ path }) };
  });
});
