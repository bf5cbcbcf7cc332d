import { describe, expect, it } from 'vitest';
import { cdcSource, compileProject, defineProject, env, postgresCdc } from '../../../definitions/index.js';
import { ConfigError } from '../../../errors.js';
import { postgresCdcConfig, redactConnection } from './postgres-cdc-config.js';

function source(connector: Parameters<typeof postgresCdc>[0], name = 'accounts') {
  const spec = cdcSource({ name, key: 'account_id', schema: { account_id: 'string', tier: 'string' }, connector: postgresCdc(connector) });
  return compileProject(defineProject({ name: 'p', entities: [], sources: [spec], featureViews: [] })).sources[0]!;
}

describe('postgresCdcConfig', () => {
  it('reads env() settings only when asked, names a missing variable, and defaults slot and publication', () => {
    const s = source({ connection: env('CRM_URL'), table: 'crm.accounts' });
    expect(JSON.stringify(s)).not.toContain('postgres://');
    expect(() => postgresCdcConfig(s, {})).toThrow(ConfigError);
    expect(() => postgresCdcConfig(s, {})).toThrow(/environment variable CRM_URL, which is not set/);
    expect(postgresCdcConfig(s, { CRM_URL: 'postgres://db/crm' })).toEqual({
      source: 'accounts', connection: 'postgres://db/crm', schemaName: 'crm', tableName: 'accounts',
      slot: 'sluice_accounts', publication: 'sluice_accounts', key: 'account_id', columns: ['account_id', 'tier'],
    });
  });

  it('makes a valid default slot name from any source name, and refuses an invalid explicit one', () => {
    expect(postgresCdcConfig(source({ connection: 'x', table: 'accounts' }, 'CRM_Accounts')).slot).toBe('sluice_crm_accounts');
    expect(() => postgresCdcConfig(source({ connection: 'x', table: 'public.accounts', slot: 'My-Slot' }))).toThrow(/slot name "My-Slot"/);
  });
});

describe('redactConnection', () => {
  it('hides the password of a URL or key=value connection wherever it appears', () => {
    const url = 'postgres://app:s3cr%40t@db.internal:5432/crm';
    expect(redactConnection(`cannot connect to ${url}`, url)).toBe('cannot connect to postgres://app:***@db.internal:5432/crm');
    expect(redactConnection('password authentication failed for s3cr@t', url)).toBe('password authentication failed for ***');
    const kv = "host=db user=app password='hunter22' dbname=crm";
    expect(redactConnection(`bad ${kv}`, kv)).toBe('bad host=db user=app password=*** dbname=crm');
    expect(redactConnection('echo hunter22', kv)).toBe('echo ***');
  });
});
