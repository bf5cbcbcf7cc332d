import { describe, expect, test } from 'vitest';
import { batchSource, compileProject, count, entity, featureService, featureView, field, mask, planChanges, type MaskSpec, type ProjectSpec } from '../../definitions/index.js';
import type { ClassificationLookup, Classified } from './classification-lookup.js';
import { maskAnswer } from './mask-answer.js';
import { maskKey, maskValue } from './mask-methods.js';
import { maskMethod } from './mask-precedence.js';
import { maskerFor } from './masker.js';
import { keyedHash } from '../project-secret.js';
import type { OnlineFeaturesResponse } from '../../serving/online-features.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', email: 'string', phone: 'string', birth: 'timestamp', diagnosis: 'string', zip: 'string', ts: 'timestamp' }, timestamp: 'ts' });
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { email: field('email'), phone: field('phone'), birth: field('birth'), diagnosis: field('diagnosis'), zip: field('zip'), n: count() } });
const spec = (masking?: readonly MaskSpec[]): ProjectSpec => ({ kind: 'project', name: 'p', entities: [customer], sources: [customers], featureViews: [profile], featureServices: [featureService({ name: 'crm', features: [profile] })], ...(masking ? { masking } : {}) });

const LEVELS: Record<string, Classified> = { email: { pii: 'direct', tags: ['contact'] }, phone: { pii: 'direct', tags: ['contact'] }, birth: { pii: 'quasi' }, diagnosis: { pii: 'sensitive' }, zip: { pii: 'quasi' } };
const catalog: ClassificationLookup = { feature: (_v, f) => LEVELS[f], column: (_s, c) => LEVELS[c] };

const rules = [
  mask({ role: 'analyst', pii: ['direct', 'sensitive'], with: 'hash' }),
  mask({ role: 'support', features: ['profile:phone'], with: 'last4' }),
  mask({ role: 'support', pii: 'quasi', with: 'year' }),
  mask({ role: 'fraud-model', pii: 'direct', with: 'clear' }),
  mask({ role: '*', pii: 'sensitive', with: 'null' }),
];

describe('masking rules in the definitions', () => {
  test('compiled, outside every value hash, shown by plan per role', () => {
    const project = compileProject(spec(rules));
    const plain = compileProject(spec());
    expect(project.hash).toBe(plain.hash);
    expect(project.featureViews[0]!.hash).toBe(plain.featureViews[0]!.hash);
    expect(plain.masking).toBeUndefined();
    expect(project.masking![1]).toEqual({ role: 'support', features: ['profile:phone'], with: 'last4' });
    expect(compileProject(spec([mask({ role: 'ops', features: [profile], with: 'null' })])).masking![0]!.features).toEqual(['profile:email', 'profile:phone', 'profile:birth', 'profile:diagnosis', 'profile:zip', 'profile:n']);
    expect(planChanges(plain, project).map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual(['add masking analyst', 'add masking support', 'add masking fraud-model', 'add masking *']);
    const changed = planChanges(project, compileProject(spec(rules.slice(0, 4).map((r) => (r.role === 'analyst' ? { ...r, with: 'null' as const } : r)))));
    expect(changed.map((c) => `${c.action} ${c.kind} ${c.name}: ${c.details?.join('; ') ?? ''}`)).toEqual(['change masking analyst: pii direct|sensitive with null', 'remove masking *: ']);
  });

  test('each refusal names the rule and the fix', () => {
    expect(() => compileProject(spec([mask({ role: 'support', features: ['profile:phon'], with: 'last4' })]))).toThrow('masking[0] (role "support"): view "profile" has no feature "phon" (did you mean "phone"?)');
    expect(() => compileProject(spec([mask({ role: 'support', features: ['profil:phone'], with: 'last4' })]))).toThrow('names view "profil", which is not in the project (did you mean "profile"?)');
    expect(() => compileProject(spec([mask({ role: 'a', pii: 'direct', with: 'hsah' as 'hash' })]))).toThrow('with "hsah" is not a masking method; use one of "null", "hash", "last4", "year", "clear" (did you mean "hash"?)');
    expect(() => compileProject(spec([mask({ role: 'a', pii: 'secret' as 'direct', with: 'hash' })]))).toThrow('pii must be one of "direct", "quasi", "sensitive"');
    expect(() => compileProject(spec([mask({ role: 'a', with: 'hash' })]))).toThrow('say what it masks');
    expect(() => compileProject(spec([mask({ role: 'a b', pii: 'direct', with: 'hash' })]))).toThrow('role "a b" is not a role name');
    expect(() => compileProject({ ...spec(), masking: [{ role: 'a' }] as unknown as MaskSpec[] })).toThrow('masking[0] is not a mask(...) definition');
  });
});

describe('precedence: the strictest applicable rule wins; defaults for classified data no rule covers', () => {
  const project = compileProject(spec(rules));
  const method = (roles: string[], feature: string) => maskMethod(project.masking!, roles, { feature: `profile:${feature}`, classified: LEVELS[feature] });
  test.each([
    // [roles, feature, method, why]
    [['analyst'], 'email', 'hash', 'its rule'],
    [['analyst'], 'diagnosis', 'null', 'the "*" floor is stricter than its hash'],
    [['analyst'], 'zip', 'clear', 'quasi: no rule, default clear'],
    [['support'], 'phone', 'last4', 'the named feature'],
    [['support'], 'email', 'hash', 'direct, no rule: default hash'],
    [['support'], 'birth', 'year', 'quasi by level'],
    [['support'], 'zip', 'null', 'year on a string shows nothing (see maskValue), but the method is year'],
    [['fraud-model'], 'email', 'clear', 'granted'],
    [['fraud-model', 'analyst'], 'email', 'hash', 'two roles: the stricter'],
    [['fraud-model'], 'diagnosis', 'null', 'the floor'],
    [[], 'email', 'hash', 'no role: defaults'],
    [[], 'diagnosis', 'null', 'no role: the floor'],
    [[], 'n', 'clear', 'unclassified'],
  ])('%j reading %s: %s (%s)', (roles, feature, expected, why) => {
    if (why.startsWith('year on a string')) {
      expect(method(roles, feature)).toBe('year');
      expect(maskValue('year', 'string', '75001', () => maskKey(Buffer.alloc(32)))).toBeNull();
      return;
    }
    expect(method(roles, feature)).toBe(expected);
  });

  test('a rule naming an unclassified feature masks it; with no rules, only classified data is masked by default', () => {
    const named = compileProject(spec([mask({ role: 'ops', features: ['profile:n'], with: 'null' })]));
    expect(maskMethod(named.masking!, ['ops'], { feature: 'profile:n' })).toBe('null');
    expect(maskMethod([], ['ops'], { feature: 'profile:n' })).toBe('clear');
    expect(maskMethod([], ['ops'], { classified: { pii: 'direct' } })).toBe('hash');
    expect(maskMethod([], ['ops'], { classified: { tags: ['contact'] } })).toBe('clear');
  });
});

test('an online answer is masked per column for the principal, without touching the clear answer; evidence names columns and methods, no values', () => {
  const project = compileProject(spec(rules));
  const secret = Buffer.alloc(32, 3);
  const response: OnlineFeaturesResponse = {
    asOf: '2026-01-01T00:00:00.000Z',
    features: ['profile__email', 'profile__phone', 'profile__birth', 'profile__diagnosis', 'profile__n'],
    rows: [{ customer_id: 'c1', profile__email: 'ann@example.com', profile__phone: '+33612345678', profile__birth: '1990-05-17T00:00:00.000Z', profile__diagnosis: 'flu', profile__n: 3 }],
    metadata: [{ status: ['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT', 'PRESENT'], ageMs: [1, 1, 1, 1, 1] }],
    views: {}, stale: 0,
  };
  const support = maskAnswer(maskerFor(project, catalog, { name: 'key:s', roles: ['support'], origin: 'local' }, { secret: () => secret }), project, response);
  expect(support.response.rows[0]).toEqual({ customer_id: 'c1', profile__email: keyedHash(secret, 'mask', 'ann@example.com'), profile__phone: '****5678', profile__birth: '1990-01-01T00:00:00.000Z', profile__diagnosis: null, profile__n: 3 });
  expect(support.response.masked).toEqual({ profile__email: 'hash', profile__phone: 'last4', profile__birth: 'year', profile__diagnosis: 'null' });
  expect(support.evidence).toEqual({ columns: { profile__email: 'hash', profile__phone: 'last4', profile__birth: 'year', profile__diagnosis: 'null' } });
  expect(response.rows[0]!.profile__email).toBe('ann@example.com');
  const model = maskAnswer(maskerFor(project, catalog, { name: 'key:m', roles: ['fraud-model'], origin: 'local' }, { secret: () => secret }), project, response);
  expect(model.response.rows[0]).toEqual({ ...response.rows[0], profile__birth: '1990-05-17T00:00:00.000Z', profile__diagnosis: null });
  expect(model.evidence!.columns).toMatchObject({ profile__email: 'clear', profile__phone: 'clear', profile__diagnosis: 'null' });
  expect(JSON.stringify(support.evidence)).not.toContain('ann@');
});
