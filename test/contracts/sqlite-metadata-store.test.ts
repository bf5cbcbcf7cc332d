import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { availableSqliteDrivers, sqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { runMetadataStoreContract } from './metadata-store.contract.js';
import { runCompactionContract } from './compaction.contract.js';
import { runHealthStoreContract } from './health-store.contract.js';
import { runScheduleStoreContract } from './schedule-store.contract.js';
import { runDriftStoreContract } from './drift-store.contract.js';
import { runQualityStoreContract } from './quality-store.contract.js';
import { runSkewStoreContract } from './skew-store.contract.js';
import { runAuditTrailContract } from './audit-trail.contract.js';
import { runPurgeStoreContract } from './purge-store.contract.js';
import { runKeyStoreContract } from './key-store.contract.js';
import { runMaterializedViewStoreContract } from './materialized-view-store.contract.js';

describe('SQLite metadata store', () => {
  for (const driver of availableSqliteDrivers()) {
    const harness = async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-meta-'));
      return { open: async () => sqliteMetadataStore({ path: join(dir, 'metadata.db'), driver }), dispose: async () => rmSync(dir, { recursive: true, force: true }) };
    };
    runMetadataStoreContract(`sqlite (${driver})`, harness);
    runCompactionContract(`sqlite (${driver})`, harness);
    runHealthStoreContract(`sqlite (${driver})`, harness);
    runScheduleStoreContract(`sqlite (${driver})`, harness);
    runDriftStoreContract(`sqlite (${driver})`, harness);
    runQualityStoreContract(`sqlite (${driver})`, harness);
    runSkewStoreContract(`sqlite (${driver})`, harness);
    runAuditTrailContract(`sqlite (${driver})`, harness);
    runPurgeStoreContract(`sqlite (${driver})`, harness);
    runKeyStoreContract(`sqlite (${driver})`, harness);
    runMaterializedViewStoreContract(`sqlite (${driver})`, harness);
  }
});
