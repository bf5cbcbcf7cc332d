import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice } from './support/cli.js';
import { auditTrailOf, sluiceAsKey } from './support/cli-as-key.js';

// `sluice erase` acts as the CLI's one principal (SLUICE_API_KEY, else the local operator) and is
// authorized against the applied rules, like every other admin command.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-erase-principal-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  writeFileSync(join(dir, 'sluice.config.ts'), readFileSync(join(dir, 'sluice.config.ts'), 'utf8')
    .replace("from 'sluice';", "from 'sluice';\nimport { allow, deny } from 'sluice';")
    .replace("featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],", "featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],\n  access: [deny({ role: 'local-operator', admin: ['erase'] }), allow({ role: 'privacy', admin: ['erase'] })],"));
  expect(sluice(dir, 'apply').code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withKey = (key: string, ...args: string[]) => sluiceAsKey(dir, key, ...args);
const audit = () => auditTrailOf(dir);

test('a deny for the local operator makes erase need a named key, and that key works', async () => {
  const local = sluice(dir, 'erase', '--entity', 'customer', '--key', 'c42');
  expect(local.code).toBe(1);
  expect(local.stderr).toMatch(/may not run admin action "erase"/);
  const created = sluice(dir, '--json', 'keys', 'create', '--principal', 'dpo', '--role', 'privacy');
  expect(created.code, created.stderr).toBe(0);
  const { key } = created.json<{ key: string }>();
  const erased = withKey(key, '--json', 'erase', '--entity', 'customer', '--key', 'c42');
  expect(erased.code, erased.stderr).toBe(0);
  expect(withKey(key, 'erase', '--status').code).toBe(0);
  const records = await audit();
  expect(records.some((r) => r.action === 'admin.erase' && r.actor === 'key:dpo' && r.outcome === 'allowed')).toBe(true);
});

test('a bad SLUICE_API_KEY is refused (401-like, audited), not silently replaced by the local operator', async () => {
  const bogus = withKey('sk_000000000000_notakeyatallnotakeyatallnotakeyatallnotakeya', 'erase', '--status');
  expect(bogus.code).toBe(1);
  expect(bogus.stderr).toMatch(/SLUICE_API_KEY is not a valid API key/);
  expect((await audit()).some((r) => r.action === 'auth.denied' && r.target === 'cli')).toBe(true);
});

test('erase is authorized against the applied rules: removing the deny from the config file without apply grants nothing', () => {
  const config = join(dir, 'sluice.config.ts');
  writeFileSync(config, readFileSync(config, 'utf8').replace("deny({ role: 'local-operator', admin: ['erase'] }), ", ''));
  const local = sluice(dir, 'erase', '--entity', 'customer', '--key', 'c43');
  expect(local.code).toBe(1);
  expect(local.stderr).toMatch(/may not run admin action "erase"/);
});
