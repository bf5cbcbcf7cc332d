import { expect, test } from 'vitest';
import { batchSource, compileProject, defineProject, entity, env, natsJetStream, postgresTable, streamSource, webhook } from './index.js';
import { inlineCredential } from './inline-secret.js';

test.each([
  ['postgres://app:s3cr3t@db.internal:5432/crm', 'a password in the URL'],
  ['postgresql://app:p%40ss@db/crm?sslmode=require', 'a password in the URL'],
  ['postgres://db/crm?password=s3cr3t', 'the query parameter "password"'],
  ['postgres://db/crm?sslpassword=x', 'the query parameter "sslpassword"'],
  ['host=db port=5432 user=app password=s3cr3t', 'a password= keyword'],
  ['nats://s3cr3t-token@nats.internal:4222', 'a token or user in the URL'],
  ['nats://127.0.0.1:4222, nats://u:pw@10.0.0.2:4222', 'a password in the URL'],
  ['tls://tok@nats:4222', 'a token or user in the URL'],
  ['https://hooks.example.com/x?token=abc', 'the query parameter "token"'],
  ['https://hooks.example.com/x?api_key=abc', 'the query parameter "api_key"'],
  ['https://hooks.example.com/x?key=abc', 'the query parameter "key"'],
])('%s holds a credential (%s)', (text, why) => {
  expect(inlineCredential(text)).toBe(why);
});

test.each([
  'postgres://app@db.internal:5432/crm',
  'postgres://db/crm?sslmode=require&application_name=sluice',
  'host=db port=5432 user=app',
  'nats://127.0.0.1:4222',
  'nats://a:4222,nats://b:4222',
  'https://hooks.example.com/sluice?channel=ops',
])('%s holds none', (text) => {
  expect(inlineCredential(text)).toBeUndefined();
});

const account = entity({ name: 'account', joinKey: 'account_id' });
const project = (extra: Partial<Parameters<typeof defineProject>[0]>) => compileProject(defineProject({ name: 'p', entities: [account], sources: [], featureViews: [], ...extra }));

test('a connector or webhook setting with a credential written inline is refused at load, naming the setting and env()', () => {
  const payments = batchSource({ name: 'payments', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts', connector: postgresTable({ connection: 'postgres://app:s3cr3t@db/crm', table: 'public.payments', cursor: 'ts', key: 'account_id' }) });
  expect(() => project({ sources: [payments] })).toThrow('source "payments": connector connection holds a credential written in the definitions (a password in the URL): it would be stored in the registry; write env("PAYMENTS_DB_URL") and set PAYMENTS_DB_URL where Sluice runs');
  const clicks = streamSource({ name: 'clicks', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts', connector: natsJetStream({ servers: 'nats://tok@nats:4222', stream: 'C', subject: 'c.>' }) });
  expect(() => project({ sources: [clicks] })).toThrow('source "clicks": connector servers holds a credential written in the definitions (a token or user in the URL)');
  expect(() => project({ alerts: [webhook({ url: 'https://u:pw@hooks.example.com/x' })] })).toThrow('alert channel "webhook": url holds a credential written in the definitions (a password in the URL)');
  expect(() => project({ alerts: [webhook({ url: env('ALERT_URL'), headers: { Authorization: 'Bearer abc' } })] })).toThrow('alert channel "webhook": header "Authorization" is a credential written in the definitions: it would be stored in the registry; write env("ALERT_TOKEN")');
  // The same settings through env() are fine, and stay references in the compiled project.
  const ok = project({
    sources: [batchSource({ name: 'payments', schema: { account_id: 'string', ts: 'timestamp' }, timestamp: 'ts', connector: postgresTable({ connection: env('DB_URL'), table: 'public.payments', cursor: 'ts', key: 'account_id' }) })],
    alerts: [webhook({ url: env('ALERT_URL'), headers: { Authorization: env('ALERT_TOKEN'), 'x-team': 'fraud' } })],
  });
  expect(JSON.stringify(ok)).not.toMatch(/s3cr3t|Bearer/);
});
