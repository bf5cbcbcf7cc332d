import { expect, test } from 'vitest';
import type { EventLog } from '../../src/storage/log/event-log.js';

/** The semantics every EventLog keeps (see `event-log.ts`); `open` opens a handle on one fresh log (call it again for another process's handle). */
export function runEventLogContract(name: string, fresh: () => { open: () => EventLog }): void {
  const batch = (events: string[], position: string, after?: string | null) => ({ ackTime: 1, origin: 'natsJetStream', events, rejected: [], position, ...(after === undefined ? {} : { after }) });

  test(`${name}: a conditional append stores its batch only if the origin's stored position is still the one it was read after`, async () => {
    const log = fresh().open();
    try {
      await log.append('s', batch(['{"n":1}'], '10', null));
      expect(log.position('s', 'natsJetStream')).toBe('10');
      // A second runner that read from nothing (as the first did) must not append the same messages again.
      await expect(log.append('s', batch(['{"n":1}'], '10', null))).rejects.toMatchObject({ code: 'CONFLICT', details: { stored: '10', after: null } });
      await expect(log.append('s', batch(['{"n":2}'], '25', '5'))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(log.head('s')).toBe(1);
      expect(log.position('s', 'natsJetStream')).toBe('10');
      await log.append('s', batch(['{"n":2}'], '20', '10'));
      expect(log.position('s', 'natsJetStream')).toBe('20');
      expect(log.read('s', 0, 10).map((e) => e.events)).toEqual([['{"n":1}'], ['{"n":2}']]);
      // Another origin's position is its own; an unconditional append (push) is not checked.
      await log.append('s', { ...batch(['{"n":3}'], 'lsn:1', null), origin: 'postgresCdc' });
      await log.append('s', { ackTime: 1, origin: 'push', events: ['{"n":4}'], rejected: [] });
      expect(log.head('s')).toBe(4);
    } finally {
      await log.close();
    }
  });

  test(`${name}: of two handles appending after the same position at once, exactly one succeeds`, async () => {
    const made = fresh();
    const a = made.open();
    const b = made.open();
    try {
      const results = await Promise.allSettled([a.append('s', batch(['{"a":1}'], '7', null)), b.append('s', batch(['{"b":1}'], '7', null))]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['CONFLICT']);
      expect(a.read('s', 0, 10)).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
    }
  });
}
