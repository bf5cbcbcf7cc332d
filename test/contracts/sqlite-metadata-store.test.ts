import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { sqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { runMetadataStoreContract } from './metadata-store.contract.js';

describe('SQLite metadata store', () => {
  runMetadataStoreContract('sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-meta-'));
    return { open: async () => sqliteMetadataStore({ path: join(dir, 'metadata.db') }), dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  });
});
