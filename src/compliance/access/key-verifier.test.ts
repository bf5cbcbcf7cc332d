import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sqliteMetadataStore } from '../../storage/metadata/sqlite/index.js';
import type { MetadataStore } from '../../storage/metadata/metadata-store.js';
import { createApiKey, revokeApiKey, rolesNoRuleNames } from './api-keys.js';
import { auditBuffer } from './audit-buffer.js';
import { cachedKeyVerifier } from './key-verifier.js';

let dir: string;
let store: MetadataStore;
const operator = { name: 'cli:test', roles: ['local-operator'], origin: 'local' };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-keys-'));
  store = sqliteMetadataStore({ path: join(dir, 'metadata.db') });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a revocation reaches a verifier once its cached record is older than the bound; a failure is never cached', async () => {
  const clock = { now: 0 };
  const verifier = cachedKeyVerifier(store.keys, { ttlMs: 1_000, now: () => clock.now });
  const { token, key } = await createApiKey(store, { principal: 'scorer', roles: ['fraud-model'] }, operator, 0);
  const forged = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  expect(await verifier.verify(forged)).toEqual({ ok: false, refusal: 'forged', id: key.id });
  expect(await verifier.verify(token)).toMatchObject({ ok: true, key: { principal: 'scorer', roles: ['fraud-model'] } });
  // With the record cached, a forged secret is still refused.
  expect((await verifier.verify(forged)).ok).toBe(false);
  await revokeApiKey(store, key.id, operator, 10);
  clock.now = 999;
  expect((await verifier.verify(token)).ok).toBe(true);
  clock.now = 1_000;
  expect(await verifier.verify(token)).toEqual({ ok: false, refusal: 'revoked', id: key.id });
  expect(await verifier.verify('sk_nope')).toEqual({ ok: false, refusal: 'malformed' });
  expect(await verifier.verify(`sk_ffffffffffff_${'a'.repeat(43)}`)).toEqual({ ok: false, refusal: 'unknown', id: 'ffffffffffff' });
});

test('keys need a valid principal and roles, and never the reserved local-operator role', async () => {
  await expect(createApiKey(store, { principal: 'bad name', roles: ['r'] }, operator, 0)).rejects.toThrow(/principal "bad name" is not valid/);
  await expect(createApiKey(store, { principal: 'p', roles: [] }, operator, 0)).rejects.toThrow(/at least one role/);
  await expect(createApiKey(store, { principal: 'p', roles: ['local-operator'] }, operator, 0)).rejects.toThrow(/reserved for the local operator/);
  expect(await store.keys.any()).toBe(false);
});

test('the audit buffer commits queued records in chain order on flush and on close', async () => {
  const buffer = auditBuffer(store.audit, { flushMs: 60_000 });
  for (let i = 0; i < 5; i++) buffer.record({ actor: 'key:p', action: 'serve.read', target: 'service:s', outcome: 'allowed', details: { i } }, i);
  await buffer.flush();
  expect((await store.audit.list()).map((r) => r.details?.i)).toEqual([0, 1, 2, 3, 4]);
  buffer.record({ actor: 'key:p', action: 'serve.read', target: 'service:s', outcome: 'denied' }, 9);
  await buffer.close();
  expect((await store.audit.head())?.seq).toBe(6);
});

describe('roles a key is given', () => {
  test('a role no access or masking rule names is reported, with the closest named role (found by the governance pass: such a key was created silently)', () => {
    const project = { access: [{ effect: 'allow', role: 'analyst', read: ['profile:email'] }], masking: [{ role: 'support', with: 'hash', pii: ['direct'] }, { role: '*', with: 'null', pii: ['sensitive'] }] } as const;
    expect(rolesNoRuleNames(project, ['analyst', 'support', 'analyts', 'nobody'])).toEqual([
      { role: 'analyts', hint: ' (did you mean "analyst"?)' },
      { role: 'nobody', hint: '' },
    ]);
    expect(rolesNoRuleNames({}, ['analyst'])).toEqual([{ role: 'analyst', hint: '' }]);
  });
});
