import { cdcSource, defineProject, entity, env, featureView, field, postgresCdc } from '../../src/definitions/index.js';

/**
 * The CDC runtime suites' project: source `accounts` following `public.accounts` of the database
 * `SLUICE_TEST_CRM_URL` names (see `accountsDatabase`), and view `profile` (its tier and credit limit).
 */
export const crmAccountsSpec = (() => {
  const account = entity({ name: 'account', joinKey: 'account_id' });
  const accounts = cdcSource({ name: 'accounts', key: 'account_id', schema: { account_id: 'int64', tier: 'string', credit_limit: 'float64' }, connector: postgresCdc({ connection: env('SLUICE_TEST_CRM_URL'), table: 'public.accounts' }) });
  const profile = featureView({ name: 'profile', entity: account, source: accounts, features: { tier: field('tier'), credit_limit: field('credit_limit') } });
  return defineProject({ name: 'crm', entities: [account], sources: [accounts], featureViews: [profile] });
})();
