import type { KeyStore, StoredApiKey } from '../../storage/metadata/key-store.js';
import { checkApiKey, parseApiKey, secretMatches, type KeyCheck } from './api-keys.js';

/** How long a server trusts a key's stored record before reading it again: the bound on revocation delay. */
export const KEY_CACHE_MS = 1_000;

export interface KeyVerifier {
  verify(token: string): Promise<KeyCheck>;
}

/**
 * Verifies presented keys for a server's hot path. The stored record of a valid key (its salt,
 * hash, roles, revocation) is kept for `ttlMs`, so a revocation takes effect on a running server
 * within `ttlMs` (default 1 s). Every request still checks the secret against the stored hash;
 * a failure is never cached, and nothing is cached for an unknown, forged or revoked key.
 *
 * @example
 * const verifier = cachedKeyVerifier(ctx.metadata.keys);
 * const check = await verifier.verify(token);
 */
export function cachedKeyVerifier(keys: KeyStore, options: { readonly ttlMs?: number; readonly now?: () => number; readonly maxEntries?: number } = {}): KeyVerifier {
  const ttlMs = options.ttlMs ?? KEY_CACHE_MS;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { readonly stored: StoredApiKey; readonly until: number }>();
  return {
    async verify(token) {
      const parts = parseApiKey(token);
      const hit = parts && cache.get(parts.id);
      if (parts && hit && hit.until > now()) {
        if (secretMatches(hit.stored, parts.secret)) return { ok: true, key: hit.stored };
        return { ok: false, refusal: 'forged', id: parts.id };
      }
      if (parts) cache.delete(parts.id);
      const check = await checkApiKey(keys, token);
      if (check.ok && parts) {
        if (cache.size >= maxEntries) cache.clear();
        cache.set(parts.id, { stored: check.key as StoredApiKey, until: now() + ttlMs });
      }
      return check;
    },
  };
}
