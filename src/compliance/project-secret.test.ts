import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { keyedHash, projectSecret, PROJECT_SECRET_ENV } from './project-secret.js';

test('the project secret is created once (0600) and reused; keyed hashes are stable and separated by purpose', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-secret-'));
  const a = projectSecret(dir);
  expect(a.length).toBe(32);
  expect(projectSecret(dir).equals(a)).toBe(true);
  const file = join(dir, 'secrets', 'project.key');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readFileSync(file, 'utf8')).toBe(a.toString('hex'));
  expect(keyedHash(a, 'erasure', 'c42')).toBe(keyedHash(a, 'erasure', 'c42'));
  expect(keyedHash(a, 'erasure', 'c42')).not.toBe(keyedHash(a, 'audit', 'c42'));
  // Not derivable from the subject alone: keyed by the project's secret (another secret, another
  // hash), and not the plain SHA-256 anyone could compute from a guessed id. (A check that the hex
  // text does not contain "c42" failed by chance about once in 70 runs: "c42" is hex.)
  expect(keyedHash(a, 'erasure', 'c42')).toMatch(/^[0-9a-f]{64}$/);
  expect(keyedHash(a, 'erasure', 'c42')).not.toBe(keyedHash(Buffer.alloc(32, 1), 'erasure', 'c42'));
  expect(keyedHash(a, 'erasure', 'c42')).not.toBe(createHash('sha256').update('c42').digest('hex'));
  expect(keyedHash(a, 'erasure', 'c42')).not.toBe(createHash('sha256').update('erasure\0c42').digest('hex'));
});

test('SLUICE_PROJECT_SECRET overrides the file and must be 32 bytes of hex', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-secret-'));
  try {
    process.env[PROJECT_SECRET_ENV] = 'ab'.repeat(32);
    expect(projectSecret(dir).toString('hex')).toBe('ab'.repeat(32));
    process.env[PROJECT_SECRET_ENV] = 'xyz';
    expect(() => projectSecret(dir)).toThrow(/64 hex digits/);
  } finally {
    delete process.env[PROJECT_SECRET_ENV];
  }
});
