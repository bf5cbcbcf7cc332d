import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aColumnType } from '../../definitions/index.js';
import { ConfigError } from '../../errors.js';

/** The environment variable that supplies the audit signing key (an Ed25519 private key, PKCS#8 PEM) instead of the file. */
export const AUDIT_SIGNING_KEY_ENV = 'SLUICE_AUDIT_SIGNING_KEY';

/** An Ed25519 key pair that signs audit checkpoints, and the id (`keyId`) checkpoints name it by. */
export interface AuditSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The first 16 hex digits of sha256 over the public key (SPKI DER). */
  readonly keyId: string;
  /** The public key as SPKI PEM: what a verifier keeps. */
  readonly publicKeyPem: string;
}

/** The path of an installation's private signing key (mode 0600). */
export const auditSigningKeyPath = (dataDir: string): string => join(dataDir, 'secrets', 'audit-signing.key');

/** The id of an Ed25519 public key, as checkpoints name it. */
export function auditKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/**
 * A public key from SPKI PEM text (as `sluice audit public-key` prints it); a ConfigError naming
 * `from` when it is not an Ed25519 public key.
 */
export function auditPublicKey(pem: string, from: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (cause) {
    throw new ConfigError('CONFIG_INVALID', `${from} is not a public key in PEM form; export one with "sluice audit public-key --out FILE"`, { cause });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError('CONFIG_INVALID', `${from} is ${aColumnType(key.asymmetricKeyType ?? 'unknown')} key, not the Ed25519 key audit checkpoints are signed with`);
  return key;
}

function fromPrivate(privateKey: KeyObject, from: string): AuditSigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new ConfigError('CONFIG_INVALID', `${from} is ${aColumnType(privateKey.asymmetricKeyType ?? 'unknown')} key; audit checkpoints need an Ed25519 key (openssl genpkey -algorithm ed25519)`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: auditKeyId(publicKey), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function parsePrivate(pem: string, from: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    throw new ConfigError('CONFIG_INVALID', `${from} is not a private key in PEM form; generate one with: openssl genpkey -algorithm ed25519`, { cause });
  }
}

const cache = new Map<string, AuditSigningKey>();

/**
 * The installation's audit signing key: `SLUICE_AUDIT_SIGNING_KEY` (PKCS#8 PEM) when set, else
 * `<dataDir>/secrets/audit-signing.key`, created on first use (mode 0600). Only checkpoints are
 * signed with it; keep a copy of its public key (`sluice audit public-key`) apart from the data.
 *
 * @example
 * const key = auditSigningKey(ctx.dataDir);
 * sign(null, message, key.privateKey);
 */
export function auditSigningKey(dataDir: string): AuditSigningKey {
  const fromEnv = process.env[AUDIT_SIGNING_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromPrivate(parsePrivate(fromEnv.replaceAll('\\n', '\n'), AUDIT_SIGNING_KEY_ENV), AUDIT_SIGNING_KEY_ENV);
  const path = auditSigningKeyPath(dataDir);
  const known = cache.get(path);
  if (known) return known;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      // `wx`: when two processes race to create it, one wins and the other reads the winner's.
      writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
    }
    pem = readFileSync(path, 'utf8');
  }
  const key = fromPrivate(parsePrivate(pem, path), path);
  cache.set(path, key);
  return key;
}
