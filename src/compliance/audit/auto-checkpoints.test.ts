import { expect, test } from 'vitest';
import { ConflictError } from '../../errors.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import { checkpointingAuditTrail } from './auto-checkpoints.js';

/** A trail whose writes fail as SQLite does on a full disk or a read-only file. */
function failingTrail(error: Error): AuditTrail {
  return {
    append: () => Promise.reject(error),
    appendMany: () => Promise.reject(error),
    list: () => Promise.resolve([]),
    head: () => Promise.resolve(undefined),
  };
}

test('an audit write that fails is a Sluice error naming the record and the fix, not a bare engine error (found by the governance pass: the CLI printed a stack)', async () => {
  const event = { actor: 'cli:dpo', action: 'admin.erase', target: 'admin:erase', outcome: 'allowed' } as const;
  for (const every of [0, 5]) {
    const trail = checkpointingAuditTrail(failingTrail(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })), { every, key: () => { throw new Error('unused'); }, onError: () => {} });
    const expected = { code: 'ADAPTER_FAILED', message: expect.stringMatching(/audit trail.*"admin\.erase" on admin:erase.*database or disk is full.*metadata\.db/) };
    await expect(trail.append(event, 1)).rejects.toMatchObject(expected);
    await expect(trail.appendMany([{ event, at: 1 }])).rejects.toMatchObject(expected);
  }
  const conflict = new ConflictError('CONFLICT', 'taken');
  await expect(checkpointingAuditTrail(failingTrail(conflict), { every: 0, key: () => { throw new Error('unused'); }, onError: () => {} }).append(event, 1)).rejects.toBe(conflict);
});
