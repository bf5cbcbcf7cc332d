import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/** The environment variable that supplies the project secret (hex, at least 32 bytes) instead of the file. */
export const PROJECT_SECRET_ENV = 'SLUICE_PROJECT_SECRET';

const cache = new Map<string, Buffer>();

/**
 * The per-project secret behind every keyed hash (masking by hash, the erasure block list, audit
 * tokens): `SLUICE_PROJECT_SECRET` (hex) when set, else `<dataDir>/secrets/project.key`, created
 * on first use with 32 random bytes and mode 0600. Servers that share a data set must share it.
 */
export function projectSecret(dataDir: string): Buffer {
  const fromEnv = process.env[PROJECT_SECRET_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const secret = Buffer.from(fromEnv, 'hex');
    if (secret.length < 32 || secret.toString('hex') !== fromEnv.toLowerCase()) {
      throw new ConfigError('CONFIG_INVALID', `${PROJECT_SECRET_ENV} must be at least 64 hex digits (32 bytes); generate one with: openssl rand -hex 32`);
    }
    return secret;
  }
  const path = join(dataDir, 'secrets', 'project.key');
  const known = cache.get(path);
  if (known) return known;
  let secret: Buffer;
  try {
    secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
    try {
      // `wx`: when two processes race to create it, one wins and the other reads the winner's.
      writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
    }
    secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  }
  if (secret.length < 32) throw new ConfigError('CONFIG_INVALID', `the project secret ${path} is damaged (fewer than 32 bytes); restore it from a backup`);
  cache.set(path, secret);
  return secret;
}

/**
 * The one keyed hash of a value (HMAC-SHA256 with the project secret, hex), domain-separated by
 * `purpose` so a token in one place (say, the audit trail) cannot be matched against another
 * (say, masked serving output). Raw keys and values never leave the process in their place.
 */
export function keyedHash(secret: Buffer, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(purpose).update('\0').update(value).digest('hex');
}
