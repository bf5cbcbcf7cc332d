import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { AUDIT_SIGNING_KEY_ENV, auditPublicKey, auditSigningKey, auditSigningKeyPath } from './audit-signing-key.js';
import { checkpointSignatureValid, signCheckpoint } from './audit-checkpoint.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-audit-key-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  delete process.env[AUDIT_SIGNING_KEY_ENV];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test('the installation key is created once, 0600, and its exported public key verifies what it signs', () => {
  const dir = tempDir();
  const key = auditSigningKey(dir);
  expect(statSync(auditSigningKeyPath(dir)).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
  expect(auditSigningKey(dir).keyId).toBe(key.keyId);
  expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
  const checkpoint = signCheckpoint({ seq: 3, hash: 'ab'.repeat(32) }, 1000, key);
  const exported = auditPublicKey(key.publicKeyPem, 'audit.pub');
  expect(checkpointSignatureValid(checkpoint, exported)).toBe(true);
  expect(checkpointSignatureValid({ ...checkpoint, seq: 4 }, exported)).toBe(false);
  expect(checkpointSignatureValid({ ...checkpoint, signature: 'bm90IGEgc2lnbmF0dXJl' }, exported)).toBe(false);
  expect(auditSigningKey(tempDir()).keyId).not.toBe(key.keyId);
});

test('SLUICE_AUDIT_SIGNING_KEY supplies the key instead of the file; a key of the wrong kind is refused with the fix', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  process.env[AUDIT_SIGNING_KEY_ENV] = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const dir = tempDir();
  const a = auditSigningKey(dir);
  expect(auditSigningKey(tempDir()).keyId).toBe(a.keyId);
  expect(() => statSync(auditSigningKeyPath(dir))).toThrow();
  process.env[AUDIT_SIGNING_KEY_ENV] = 'not a key';
  expect(() => auditSigningKey(dir)).toThrow('SLUICE_AUDIT_SIGNING_KEY is not a private key in PEM form; generate one with: openssl genpkey -algorithm ed25519');
  process.env[AUDIT_SIGNING_KEY_ENV] = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  expect(() => auditSigningKey(dir)).toThrow('SLUICE_AUDIT_SIGNING_KEY is an ec key; audit checkpoints need an Ed25519 key');
  expect(() => auditPublicKey('-----BEGIN PUBLIC KEY-----\nxyz\n-----END PUBLIC KEY-----\n', 'audit.pub')).toThrow('audit.pub is not a public key in PEM form; export one with "sluice audit public-key --out FILE"');
});
