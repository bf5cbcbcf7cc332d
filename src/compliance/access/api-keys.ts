import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { didYouMean, LOCAL_OPERATOR_ROLE, principalNameProblem, roleNameProblem, type AccessRule, type MaskRule } from '../../definitions/index.js';
import { ValidationError } from '../../errors.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import type { ApiKey, KeyStore, StoredApiKey } from '../../storage/metadata/key-store.js';
import type { Principal } from '../principal.js';

/*
 * Key format: `sk_<id>_<secret>`: a 12-hex-digit public id (looked up) and 32 random bytes
 * (base64url, verified). Stored: a 16-byte random salt and HMAC-SHA256(salt, secret). A slow KDF
 * (scrypt, argon2) protects low-entropy passwords from guessing; a 256-bit random secret cannot
 * be guessed, so a fast keyed hash is as safe here and keeps verification in microseconds on the
 * serving path. The salt makes equal secrets hash differently; comparison is constant-time.
 */
const TOKEN = /^sk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const digest = (salt: Buffer, secret: string): Buffer => createHmac('sha256', salt).update(secret).digest();

/**
 * The roles of `roles` that no access or masking rule of `project` names (a `"*"` rule names no
 * role), each with a did-you-mean hint (`' (did you mean "analyst"?)'` or `''`): a key given only
 * such roles is refused everything but `"*"` reads. `keys create` warns with them.
 *
 * @example
 * rolesNoRuleNames(project, ['analyts']); // [{ role: 'analyts', hint: ' (did you mean "analyst"?)' }]
 */
export function rolesNoRuleNames(project: { readonly access?: readonly Pick<AccessRule, 'role'>[]; readonly masking?: readonly Pick<MaskRule, 'role'>[] }, roles: readonly string[]): { role: string; hint: string }[] {
  const named = new Set([...(project.access ?? []), ...(project.masking ?? [])].map((r) => r.role).filter((r) => r !== '*'));
  return roles.filter((role) => !named.has(role)).map((role) => ({ role, hint: didYouMean(role, named) }));
}

/** A key token's parts; undefined when it is not shaped like a Sluice key. */
export function parseApiKey(token: string): { readonly id: string; readonly secret: string } | undefined {
  const match = TOKEN.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** Whether `secret` is the one `stored` was created with (constant-time). */
export function secretMatches(stored: Pick<StoredApiKey, 'salt' | 'hash'>, secret: string): boolean {
  const expected = Buffer.from(stored.hash, 'hex');
  const actual = digest(Buffer.from(stored.salt, 'hex'), secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The principal a key acts as. */
export function keyPrincipal(key: ApiKey, origin: string): Principal {
  return { name: `key:${key.principal}`, roles: key.roles, origin };
}

/** Why a presented key was refused (kept in the audit trail, not told to the caller). */
export type KeyRefusal = 'malformed' | 'unknown' | 'forged' | 'revoked';

export type KeyCheck = { readonly ok: true; readonly key: ApiKey } | { readonly ok: false; readonly refusal: KeyRefusal; readonly id?: string };

/** Checks a presented key against the store: its id must exist, its secret match and the key not be revoked. */
export async function checkApiKey(keys: KeyStore, token: string): Promise<KeyCheck> {
  const parts = parseApiKey(token);
  if (!parts) return { ok: false, refusal: 'malformed' };
  const stored = await keys.find(parts.id);
  if (!stored) return { ok: false, refusal: 'unknown', id: parts.id };
  if (!secretMatches(stored, parts.secret)) return { ok: false, refusal: 'forged', id: parts.id };
  if (stored.revokedAt !== null) return { ok: false, refusal: 'revoked', id: parts.id };
  return { ok: true, key: stored };
}

export interface NewKeyOptions {
  readonly principal: string;
  readonly roles: readonly string[];
}

/**
 * Creates a key: stores its salted hash and returns the token, which is shown once and never
 * stored. Audited as `keys.create` by `actor`.
 *
 * @example
 * const { token } = await createApiKey(ctx.metadata, { principal: 'scorer', roles: ['fraud-model'] }, operator, ctx.now());
 */
export async function createApiKey(metadata: { keys: KeyStore; audit: AuditTrail }, options: NewKeyOptions, actor: Principal, at: number): Promise<{ token: string; key: ApiKey }> {
  const principalProblem = principalNameProblem(options.principal);
  if (principalProblem) throw new ValidationError('BAD_REQUEST', `${principalProblem} (--principal)`);
  if (options.roles.length === 0) throw new ValidationError('BAD_REQUEST', `a key needs at least one role: --role ROLE (a role the project's access rules name)`);
  for (const role of options.roles) {
    const problem = roleNameProblem(role);
    if (problem) throw new ValidationError('BAD_REQUEST', problem);
    if (role === LOCAL_OPERATOR_ROLE) throw new ValidationError('BAD_REQUEST', `role "${LOCAL_OPERATOR_ROLE}" is reserved for the local operator (the CLI without SLUICE_API_KEY); give the key a role of its own`);
  }
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const key = await metadata.keys.create({
    id, principal: options.principal, roles: [...new Set(options.roles)], salt: salt.toString('hex'), hash: digest(salt, secret).toString('hex'), createdAt: at, createdBy: actor.name,
  });
  await metadata.audit.append({ actor: actor.name, action: 'keys.create', target: `key:${id}`, outcome: 'succeeded', origin: actor.origin, details: { principal: key.principal, roles: key.roles } }, at);
  return { token: `sk_${id}_${secret}`, key };
}

/** Revokes a key (audited as `keys.revoke`); a `NotFoundError`-like validation error for an unknown id. */
export async function revokeApiKey(metadata: { keys: KeyStore; audit: AuditTrail }, id: string, actor: Principal, at: number): Promise<ApiKey | undefined> {
  const key = await metadata.keys.revoke(id, at, actor.name);
  await metadata.audit.append({ actor: actor.name, action: 'keys.revoke', target: `key:${id}`, outcome: key ? 'succeeded' : 'failed', origin: actor.origin, ...(key ? { details: { principal: key.principal } } : { details: { reason: 'unknown key id' } }) }, at);
  return key;
}
