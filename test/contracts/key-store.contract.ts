import { expect, test } from 'vitest';
import { withStore, type StoreHarness } from './harness.js';
import type { MetadataStore } from '../../src/storage/metadata/metadata-store.js';

/** The semantics every KeyStore keeps (see `key-store.ts`). */
export function runKeyStoreContract(name: string, harness: () => Promise<StoreHarness<MetadataStore>>): void {
  const run = (body: (h: StoreHarness<MetadataStore>, store: MetadataStore) => Promise<void>) => withStore(harness, body)();
  const key = (id: string, createdAt: number) => ({ id, principal: `p_${id}`, roles: ['fraud-model', 'ds'], salt: 'aa', hash: 'bb', createdAt, createdBy: 'cli:ops' });

  test(`${name}: keys are created once, found with their hash, listed without it, revoked once; any() stays true after revocation`, () =>
    run(async (h, store) => {
      expect(await store.keys.any()).toBe(false);
      expect(await store.keys.create(key('k1', 10))).toEqual({ id: 'k1', principal: 'p_k1', roles: ['fraud-model', 'ds'], createdAt: 10, createdBy: 'cli:ops', revokedAt: null, revokedBy: null });
      await expect(store.keys.create(key('k1', 11))).rejects.toMatchObject({ code: 'CONFLICT' });
      await store.keys.create(key('k0', 20));
      expect(await store.keys.find('k1')).toMatchObject({ salt: 'aa', hash: 'bb', revokedAt: null });
      expect(await store.keys.find('nope')).toBeUndefined();
      const listed = await store.keys.list();
      expect(listed.map((k) => k.id)).toEqual(['k1', 'k0']);
      for (const k of listed) expect(k).not.toHaveProperty('hash');
      expect(await store.keys.revoke('k1', 30, 'cli:ops')).toMatchObject({ revokedAt: 30, revokedBy: 'cli:ops' });
      expect(await store.keys.revoke('k1', 40, 'key:other')).toMatchObject({ revokedAt: 30, revokedBy: 'cli:ops' });
      expect(await store.keys.revoke('nope', 40, 'cli:ops')).toBeUndefined();
      // Another handle (another process) sees the revocation at once.
      const other = await h.open();
      try {
        expect((await other.keys.find('k1'))?.revokedAt).toBe(30);
        expect(await other.keys.any()).toBe(true);
      } finally {
        await other.close();
      }
    }));
}
