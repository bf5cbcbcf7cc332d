import { describe, expect, test } from 'vitest';
import { compileProject, defineProject, entity, env, featureView, field, natsJetStream, postgresCdc, resolveSetting, streamSource, cdcSource, count } from './index.js';

const account = entity({ name: 'account', joinKey: 'account_id' });
const payments = streamSource({
  name: 'payments', schema: { account_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts', allowedLateness: '2h',
  connector: natsJetStream({ servers: env('NATS_URL'), stream: 'PAYMENTS', subject: 'payments.>' }),
});
const accounts = cdcSource({ name: 'accounts', key: 'account_id', schema: { account_id: 'string', tier: 'string' }, connector: postgresCdc({ connection: env('CRM_DATABASE_URL'), table: 'public.accounts' }) });

describe('stream and CDC source definitions', () => {
  test('compile with their options; settings from env() stay references in the registry', () => {
    const project = compileProject(defineProject({
      name: 'p', entities: [account], sources: [payments, accounts],
      featureViews: [featureView({ name: 'v', entity: account, source: payments, features: { n: count({ window: '1h' }) } }), featureView({ name: 'profile', entity: account, source: accounts, features: { tier: field('tier') } })],
    }));
    const [stream, cdc] = project.sources;
    expect(stream).toMatchObject({ kind: 'stream', allowedLatenessMs: 7_200_000, maxClockSkewMs: 300_000, connector: { kind: 'natsJetStream', servers: { kind: 'env', name: 'NATS_URL' } } });
    expect(cdc).toMatchObject({ kind: 'cdc', key: 'account_id', timestamp: '_changed_at', schema: { account_id: 'string', tier: 'string', _changed_at: 'timestamp', _op: 'string' } });
    expect(JSON.stringify(project)).not.toMatch(/postgres:\/\//);
    expect(project.featureViews[1]!.changeOp).toBe('_op');
  });

  test('a setting is read when asked for; a missing variable is a CONFIG_INVALID error naming it', () => {
    expect(resolveSetting(env('NATS_URL'), 'source "payments": servers', { NATS_URL: 'nats://127.0.0.1:4222' })).toBe('nats://127.0.0.1:4222');
    expect(resolveSetting('nats://h:1', 'x', {})).toBe('nats://h:1');
    expect(() => resolveSetting(env('NATS_URL'), 'source "payments": servers', {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('NATS_URL') }));
  });

  test('bad options are definition errors that name the fix', () => {
    const bad = (spec: Parameters<typeof streamSource>[0]) => () => compileProject(defineProject({ name: 'p', entities: [account], sources: [streamSource(spec)], featureViews: [] }));
    expect(bad({ name: 's', schema: { ts: 'timestamp' }, timestamp: 'ts', allowedLateness: 'soon' })).toThrow(/allowedLateness "soon" is not a duration/);
    expect(bad({ name: 's', schema: { ts: 'timestamp' }, timestamp: 'ts', connector: { kind: 'natsJetStream', servers: 3 } as never })).toThrow(/servers must be a string or env/);
    expect(() => compileProject(defineProject({ name: 'p', entities: [account], sources: [cdcSource({ name: 'c', key: 'id', schema: { x: 'string' } })], featureViews: [] }))).toThrow(/key column "id" is not in its schema/);
  });
});
