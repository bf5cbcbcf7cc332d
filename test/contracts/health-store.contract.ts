import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { ConditionReport } from '../../src/storage/metadata/health-store.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';

const stale = (firing: boolean, severity: 'warn' | 'error' = 'warn'): ConditionReport =>
  ({ kind: 'stale', subject: 'view:v', firing, severity, message: firing ? 'view v is 12m old (SLA 5m)' : 'view v is fresh', details: { lagMs: 720_000 } });

/** The semantics every HealthStore keeps (see `health-store.ts`). */
export function runHealthStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body);

  test(`${name}: a condition alerts once when it fires, once when it clears, and not while it stays`, run(async (_h, store) => {
    expect((await store.health.report(stale(false), 1)).transition).toBe('unchanged');
    expect(await store.health.pendingAlerts(10, 10)).toEqual([]);
    expect((await store.health.report(stale(true), 2)).transition).toBe('fired');
    expect((await store.health.report(stale(true), 3)).transition).toBe('unchanged');
    expect((await store.health.report(stale(true, 'error'), 4)).transition).toBe('escalated');
    const cleared = await store.health.report(stale(false), 5);
    expect(cleared).toMatchObject({ transition: 'resolved', condition: { firing: false, since: 2, resolvedAt: 5 } });
    expect((await store.health.report(stale(false), 6)).transition).toBe('unchanged');
    const alerts = await store.health.pendingAlerts(10, 10);
    expect(alerts.map((a) => [a.transition, a.createdAt])).toEqual([['fired', 2], ['escalated', 4], ['resolved', 5]]);
    expect(alerts[0]!.condition).toMatchObject({ kind: 'stale', subject: 'view:v', message: 'view v is 12m old (SLA 5m)', details: { lagMs: 720_000 } });
  }));

  test(`${name}: lists firing conditions first and filters by kind`, run(async (_h, store) => {
    await store.health.report(stale(true), 1);
    await store.health.report({ kind: 'job_failed', subject: 'job:ingest:s', firing: true, severity: 'error', message: 'ingest of s failed' }, 2);
    await store.health.report({ kind: 'job_failed', subject: 'job:ingest:s', firing: false, severity: 'error', message: 'ingest of s succeeded' }, 3);
    expect((await store.health.list()).map((c) => [c.subject, c.firing])).toEqual([['view:v', true], ['job:ingest:s', false]]);
    expect((await store.health.list({ firing: true })).map((c) => c.subject)).toEqual(['view:v']);
    expect((await store.health.list({ kind: 'job_failed' })).map((c) => c.message)).toEqual(['ingest of s succeeded']);
  }));

  test(`${name}: a failed delivery is retried after its backoff; a delivered alert is not pending`, run(async (_h, store) => {
    await store.health.report(stale(true), 1);
    const [alert] = await store.health.pendingAlerts(1, 10);
    await store.health.markAlert(alert!.id, { delivered: false, error: 'HTTP 503', nextAttemptAt: 100 });
    expect(await store.health.pendingAlerts(99, 10)).toEqual([]);
    const [again] = await store.health.pendingAlerts(100, 10);
    expect(again).toMatchObject({ id: alert!.id, attempts: 1, lastError: 'HTTP 503' });
    await store.health.markAlert(alert!.id, { delivered: true, at: 120 });
    expect(await store.health.pendingAlerts(1_000, 10)).toEqual([]);
    expect((await store.health.listAlerts(10))[0]).toMatchObject({ deliveredAt: 120, attempts: 2, lastError: null });
  }));

  test(`${name}: update reads and reports in one transaction: two handles adding to one condition at once lose neither`, run(async (h, store) => {
    const other = await h.open();
    try {
      const add = (handle: MetadataStore, part: string, at: number) => handle.health.update('drift', 'source:s', (c) => (
        { firing: true, severity: 'warn', message: `parts changed`, details: { parts: [...((c?.details?.parts as string[] | undefined) ?? []), part] } }), at);
      const [a, b] = await Promise.all([add(store, 'file', 1), add(other, 'stream', 2)]);
      expect([a?.transition, b?.transition]).toEqual(['fired', 'unchanged']);
      expect((await store.health.list())[0]?.details?.parts).toEqual(['file', 'stream']);
      expect(await store.health.update('drift', 'source:s', () => undefined, 3)).toBeUndefined();
      expect(await store.health.update('drift', 'source:s', (c) => ({ ...c!, firing: false, message: 'fits' }), 4)).toMatchObject({ transition: 'resolved', condition: { kind: 'drift', subject: 'source:s', since: 1, resolvedAt: 4 } });
      expect((await store.health.pendingAlerts(10, 10)).map((alert) => alert.transition)).toEqual(['fired', 'resolved']);
    } finally {
      await other.close();
    }
  }));
}
