import { describe, expect, test } from 'vitest';
import type { AuditEvent, AuditTrail } from '../../storage/metadata/audit-store.js';
import { auditBuffer } from './audit-buffer.js';

/** A trail whose commits fail while `down` is set; what it committed, in order. */
function flakyTrail() {
  const committed: AuditEvent[] = [];
  const trail = {
    down: true,
    async appendMany(entries: readonly { event: AuditEvent; at: number }[]) {
      if (trail.down) throw new Error('database is locked');
      committed.push(...entries.map((e) => e.event));
      return [];
    },
  };
  return { trail, committed, asTrail: trail as unknown as AuditTrail };
}
const read = (n: number): AuditEvent => ({ actor: `key:r${n}`, action: 'serve.read', target: 'service:crm', outcome: 'allowed' });
const classified: AuditEvent = { actor: 'key:analyst', action: 'classified.read', target: 'service:crm', outcome: 'allowed' };

describe('audit buffer: a full queue of uncommitted records', () => {
  test('never drops a classified.read record (a classified value was served on it): ordinary records go first, oldest first, counted', async () => {
    const { trail, committed, asTrail } = flakyTrail();
    const buffer = auditBuffer(asTrail, { flushMs: 1_000_000, maxQueued: 3 });
    buffer.record(classified, 1);
    await buffer.flush();
    expect(buffer.failing()).toBe(true);
    for (const n of [1, 2, 3, 4]) {
      buffer.record(read(n), 1 + n);
      await buffer.flush();
    }
    trail.down = false;
    await buffer.close();
    expect(committed.map((e) => `${e.action} ${e.actor}`)).toEqual(['classified.read key:analyst', 'serve.read key:r3', 'serve.read key:r4']);
    expect(buffer.dropped()).toBe(2);
  });
});
