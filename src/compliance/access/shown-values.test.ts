import { describe, expect, test } from 'vitest';
import { allow, batchSource, compileProject, count, defineProject, deny, entity, featureService, featureView, field, requestView, streamSource } from '../../definitions/index.js';
import { accessPolicy } from './authorize.js';
import { authorizeShownValues, featuresOfColumns, servedFeatures } from './shown-values.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const profiles = batchSource({ name: 'profiles', path: 'data/profiles.csv', schema: { customer_id: 'string', email: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const payments = streamSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const profile = featureView({ name: 'profile', entity: customer, source: profiles, features: { email: field('email') } });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count({ window: '1h' }) } });
const ratio = requestView({
  name: 'ratio', request: { amount: 'float64' }, inputs: [profile, stats],
  features: { per_n: ({ request, stats: s }) => request.amount / Math.max(1, Number(s.n ?? 0)) }, types: { per_n: 'float64' },
});
const project = compileProject(defineProject({
  name: 'shown', entities: [customer], sources: [profiles, payments], featureViews: [profile, stats], requestViews: [ratio],
  featureServices: [featureService({ name: 'scores', features: [stats] })],
  access: [
    allow({ role: 'dpo', admin: ['status'] }),
    allow({ role: 'scorer', read: ['scores', 'ratio'], push: [payments] }),
    allow({ role: 'loader', run: ['ingest:profiles'], read: true }), deny({ role: 'loader', read: ['profile:email'] }),
  ],
}));
const policy = accessPolicy(project);
const who = (role: string) => ({ name: `key:${role}`, roles: [role], origin: 'local' });

describe('values shown by other doors need the right of the door that serves them', () => {
  test('a service\'s features, or every feature when no service (or the feature-list log) is named; columns map back to features', () => {
    expect(servedFeatures(project, 'scores')).toEqual(['stats:n']);
    expect(servedFeatures(project).sort()).toEqual(['profile:email', 'ratio:per_n', 'stats:n']);
    expect(servedFeatures(project, '_features')).toEqual(servedFeatures(project));
    expect(featuresOfColumns(project, ['stats__n', 'ratio__per_n', 'gone__x'])).toEqual(['stats:n', 'ratio:per_n', 'gone:x']);
  });

  test('feature values ask read, request-view inputs included; a source\'s rows ask what writing it asks (push on a stream, run on ingest:<source> otherwise)', () => {
    expect(authorizeShownValues(policy, who('dpo'), project, { features: ['stats:n'] })).toMatchObject({ allowed: false, reason: expect.stringContaining('it shows feature values: key:dpo may not read feature "stats:n"') });
    expect(authorizeShownValues(policy, who('scorer'), project, { features: ['stats:n'], sources: ['payments'] }).allowed).toBe(true);
    expect(authorizeShownValues(policy, who('scorer'), project, { features: ['ratio:per_n'] }).reason).toContain('computed from "profile:email"');
    expect(authorizeShownValues(policy, who('scorer'), project, { sources: ['profiles'] }).reason).toContain('it shows rows of source "profiles", which only who may write them may see: key:scorer may not run job "ingest:profiles"');
    expect(authorizeShownValues(policy, who('loader'), project, { sources: ['profiles'] }).allowed).toBe(true);
    expect(authorizeShownValues(policy, who('loader'), project, { sources: ['payments'] }).reason).toContain('may not push to source "payments"');
    // A deny on a feature wins over read: true, here too.
    expect(authorizeShownValues(policy, who('loader'), project, { features: ['profile:email'] }).reason).toContain('denies it');
    expect(authorizeShownValues(policy, who('dpo'), project, {}).allowed).toBe(true);
  });
});
