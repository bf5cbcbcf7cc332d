import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sluice, sluiceOk } from './support/cli.js';
import { auditTrailOf, sluiceAsKey } from './support/cli-as-key.js';
import { startSluice } from './support/sluice-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-access-cli-'));
  cpSync(join(import.meta.dirname, '..', 'examples', 'fraud'), dir, { recursive: true });
  sluiceOk(dir, 'apply');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const audit = () => auditTrailOf(dir);
const withKey = (key: string, ...args: string[]) => sluiceAsKey(dir, key, ...args);

test('with no key and no rule, serve runs open on loopback and says so, and refuses to run open on another host', async () => {
  const refused = sluice(dir, 'serve', '--host', '0.0.0.0', '--port', '0');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/refusing to serve 0\.0\.0\.0 without authentication: the project has no API key and no access rule\. Create a key \(sluice keys create --principal NAME --role ROLE\).*or pass --insecure-open/);
  const server = await startSluice(dir, ['serve', '--host', '127.0.0.1', '--port', '0', '--no-scheduler']);
  try {
    expect(server.stderr()).toContain('auth is off: no keys or access rules; listening on loopback only');
  } finally {
    await server.stop();
  }
  const insecure = await startSluice(dir, ['serve', '--host', '0.0.0.0', '--port', '0', '--no-scheduler', '--insecure-open']);
  try {
    expect(insecure.stderr()).toContain('warning: auth is off and this server is reachable beyond this machine (--insecure-open)');
  } finally {
    await insecure.stop();
  }
});

test('keys create prints the key once, list never shows a secret, revoke takes it away; a key without the right is refused; all audited', async () => {
  writeFileSync(join(dir, 'sluice.config.ts'), readFileSync(join(dir, 'sluice.config.ts'), 'utf8')
    .replace("from 'sluice';", "from 'sluice';\nimport { allow } from 'sluice';")
    .replace("featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],", "featureServices: [featureService({ name: 'fraud_v1', features: [txnStats, smallTxns, profile] })],\n  access: [allow({ role: 'fraud-model', read: ['fraud_v1'] }), allow({ role: 'admin', admin: ['keys'] })],"));
  const applied = sluiceOk(dir, 'apply');
  expect(applied.stdout).toContain('+ access rules: + allow role "admin": admin keys');
  const created = sluice(dir, '--json', 'keys', 'create', '--principal', 'scorer', '--role', 'fraud-model');
  expect(created.code).toBe(0);
  const { id, key } = created.json<{ id: string; key: string }>();
  expect(key).toMatch(new RegExp(`^sk_${id}_[A-Za-z0-9_-]{43}$`));
  // The secret is base64url and may itself hold '_': cut at the fixed prefix, not at the last '_' (CI drew a secret ending in "_k").
  const secret = key.slice(`sk_${id}_`.length);
  const human = sluice(dir, 'keys', 'create', '--principal', 'ops', '--role', 'admin');
  expect(human.stdout).toMatch(/shown only once/);
  const adminKey = /(sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43})/.exec(human.stdout)![1]!;
  const listed = sluice(dir, '--json', 'keys', 'list');
  expect(listed.json<Array<{ id: string; principal: string; roles: string[] }>>().map((k) => [k.principal, k.roles])).toEqual([['scorer', ['fraud-model']], ['ops', ['admin']]]);
  expect(listed.stdout).not.toContain(secret);
  expect(listed.stdout).not.toContain('hash');
  expect(readFileSync(join(dir, '.sluice', 'metadata.db')).includes(secret)).toBe(false);

  expect(sluice(dir, 'keys', 'create', '--principal', 'x', '--role', 'local-operator').stderr).toMatch(/role "local-operator" is reserved/);
  const forbidden = withKey(key, 'keys', 'list');
  expect(forbidden.code).toBe(1);
  expect(forbidden.stderr).toMatch(/key:scorer may not run admin action "keys": no access rule allows it to role "fraud-model"/);
  const asAdmin = withKey(adminKey, 'keys', 'list');
  expect(asAdmin.code, asAdmin.stderr).toBe(0);
  expect(withKey(key, 'get', '--entity', 'customer_id=c1', '--service', 'fraud_v1').code).toBe(0);
  const noRead = withKey(adminKey, 'get', '--entity', 'customer_id=c1', '--features', 'profile:segment');
  expect(noRead.stderr).toMatch(/key:ops may not read feature "profile:segment": no access rule allows it to role "admin"/);
  const forged = withKey(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'), 'keys', 'list');
  expect(forged.stderr).toMatch(/SLUICE_API_KEY is not a valid API key/);

  // Auth is on now that keys and rules exist: any host, keys required.
  const server = await startSluice(dir, ['serve', '--host', '127.0.0.1', '--port', '0', '--no-scheduler']);
  try {
    expect(server.stderr()).toContain('auth is on');
  } finally {
    await server.stop();
  }

  expect(sluice(dir, 'keys', 'revoke', id).code).toBe(0);
  expect(sluice(dir, '--json', 'keys', 'list').json<Array<{ id: string; revokedAt: string | null }>>().find((k) => k.id === id)?.revokedAt).toMatch(/^\d{4}-/);
  const unknown = sluice(dir, 'keys', 'revoke', 'ffffffffffff');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/no API key has id "ffffffffffff"; see the ids with: sluice keys list/);

  const records = (await audit()).map((r) => [r.actor.startsWith('cli:') ? 'cli' : r.actor, r.action, r.outcome]);
  expect(records).toEqual(expect.arrayContaining([
    ['cli', 'keys.create', 'succeeded'], ['cli', 'admin.keys', 'allowed'], ['key:scorer', 'admin.keys', 'denied'], ['key:ops', 'admin.keys', 'allowed'],
    ['anonymous', 'auth.denied', 'denied'], ['cli', 'keys.revoke', 'succeeded'], ['cli', 'keys.revoke', 'failed'], ['cli', 'admin.apply', 'allowed'], ['key:scorer', 'serve.read', 'allowed'], ['key:ops', 'serve.read', 'denied'],
  ]));
  expect(JSON.stringify(await audit())).not.toContain(secret);
});
