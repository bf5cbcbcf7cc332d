import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { lmdbOnlineStore } from '../../src/storage/online/lmdb/index.js';
import { runOnlineStoreContract } from './online-store.contract.js';

describe('LMDB online store', () => {
  runOnlineStoreContract('lmdb', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-'));
    return {
      open: async () => lmdbOnlineStore({ path: dir }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
      // The built store (the test setup builds dist/ first), in a real separate process.
      writerProcess: () => ({ command: process.execPath, args: [join(import.meta.dirname, 'lmdb-writer-process.mjs'), dir] }),
    };
  });
});
