import { join } from 'node:path';
import type { AuditRecord } from '../../src/storage/metadata/audit-store.js';
import { sqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { sluice, type CliResult } from './cli.js';

/** Runs the real `sluice` command in a directory with `SLUICE_API_KEY` set to `key`. */
export function sluiceAsKey(cwd: string, key: string, ...args: string[]): CliResult {
  const before = process.env.SLUICE_API_KEY;
  process.env.SLUICE_API_KEY = key;
  try {
    return sluice(cwd, ...args);
  } finally {
    if (before === undefined) delete process.env.SLUICE_API_KEY;
    else process.env.SLUICE_API_KEY = before;
  }
}

/** The audit trail of the project in a directory, read from its metadata database. */
export async function auditTrailOf(cwd: string): Promise<AuditRecord[]> {
  const store = sqliteMetadataStore({ path: join(cwd, '.sluice', 'metadata.db') });
  try {
    return await store.audit.list();
  } finally {
    await store.close();
  }
}

/** Where the scheduler of the project in a directory has got to for a schedule (undefined: it never considered it). */
export async function scheduleCursorOf(cwd: string, schedule: string): Promise<number | undefined> {
  const store = sqliteMetadataStore({ path: join(cwd, '.sluice', 'metadata.db') });
  try {
    return await store.schedules.cursor(schedule);
  } finally {
    await store.close();
  }
}
