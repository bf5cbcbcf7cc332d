import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import { auditRecordHash, GENESIS_HASH } from '../../src/compliance/audit-hash.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';

/** The semantics every AuditTrail keeps (see `audit-store.ts`). */
export function runAuditTrailContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body)();

  test(`${name}: audit records form one gapless chain, each hash committing to the previous record and its own content`, () =>
    run(async (_h, store) => {
      expect(await store.audit.head()).toBeUndefined();
      const first = await store.audit.append({ actor: 'key:alice', action: 'serve.read', target: 'view:v', outcome: 'allowed', origin: 'ip:127.0.0.1', details: { entities: 2, z: -1.5 } }, 10);
      const second = await store.audit.append({ actor: 'cli:bob', action: 'erase.run', target: 'entity:customer/3f2a', outcome: 'succeeded', purpose: 'gdpr-art17' }, 20);
      expect(first).toMatchObject({ seq: 1, at: 10, prevHash: GENESIS_HASH });
      expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
      const listed = await store.audit.list();
      expect(listed).toEqual([first, second]);
      for (const r of listed) expect(auditRecordHash(r)).toBe(r.hash);
      expect(await store.audit.list({ fromSeq: 2 })).toEqual([second]);
      expect(await store.audit.list({ since: 15 })).toEqual([second]);
      expect(await store.audit.list({ limit: 1 })).toEqual([first]);
      expect(await store.audit.head()).toEqual(second);
    }));

  test(`${name}: list filters by action and actor, and lists newest first`, () =>
    run(async (_h, store) => {
      const a = await store.audit.append({ actor: 'cli:ana', action: 'apply', target: 'registry', outcome: 'succeeded' }, 1);
      const b = await store.audit.append({ actor: 'key:svc', action: 'serve.read', target: 'service:s', outcome: 'allowed' }, 2);
      const c = await store.audit.append({ actor: 'cli:ana', action: 'serve.read', target: 'service:s', outcome: 'denied' }, 3);
      expect(await store.audit.list({ action: 'serve.read' })).toEqual([b, c]);
      expect(await store.audit.list({ actor: 'cli:ana' })).toEqual([a, c]);
      expect(await store.audit.list({ actor: 'cli:ana', action: 'apply' })).toEqual([a]);
      expect(await store.audit.list({ newestFirst: true })).toEqual([c, b, a]);
      expect(await store.audit.list({ newestFirst: true, action: 'serve.read', limit: 1 })).toEqual([c]);
      expect(await store.audit.list({ action: 'gc' })).toEqual([]);
    }));

  test(`${name}: concurrent appends never fork the chain`, () =>
    run(async (_h, store) => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.audit.append({ actor: `a${i}`, action: 'x', target: 't', outcome: 'succeeded' }, i)));
      const all = await store.audit.list();
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      all.forEach((r, i) => expect(r.prevHash).toBe(i === 0 ? GENESIS_HASH : all[i - 1]!.hash));
    }));

  test(`${name}: appendMany continues the chain in order, in one transaction`, () =>
    run(async (_h, store) => {
      const first = await store.audit.append({ actor: 'a', action: 'x', target: 't', outcome: 'succeeded' }, 1);
      const many = await store.audit.appendMany([2, 3, 4].map((at) => ({ event: { actor: `a${at}`, action: 'serve.read', target: 'service:s', outcome: 'allowed' as const, details: { n: at } }, at })));
      expect(many.map((r) => [r.seq, r.at])).toEqual([[2, 2], [3, 3], [4, 4]]);
      expect(many[0]!.prevHash).toBe(first.hash);
      const all = await store.audit.list();
      expect(all.slice(1)).toEqual(many);
      for (const r of all) expect(auditRecordHash(r)).toBe(r.hash);
      expect(await store.audit.appendMany([])).toEqual([]);
    }));
}
