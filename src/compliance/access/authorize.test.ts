import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  allow, batchSource, compileProject, count, deny, defineProject, entity, featureService, featureView, field, LOCAL_OPERATOR_ROLE, requestView, streamSource,
  type AccessRule, type Project,
} from '../../definitions/index.js';
import { accessPolicy, authorize, authorizeRead, type AccessAction } from './authorize.js';
import { readDependencies } from './read-dependencies.js';

const customer = entity({ name: 'customer', joinKey: 'customer_id' });
const profiles = batchSource({ name: 'profiles', schema: { customer_id: 'string', email: 'string', age: 'int64', ts: 'timestamp' }, timestamp: 'ts' });
const payments = streamSource({ name: 'payments', schema: { customer_id: 'string', amount: 'float64', ts: 'timestamp' }, timestamp: 'ts' });
const profile = featureView({ name: 'profile', entity: customer, source: profiles, features: { email: field('email'), age: field('age') } });
const stats = featureView({ name: 'stats', entity: customer, source: payments, features: { n: count({ window: '1h' }) } });
const fraudV1 = featureService({ name: 'fraud_v1', features: [stats, 'profile:age'] });
const base = { name: 'acl', entities: [customer], sources: [profiles, payments], featureViews: [profile, stats], featureServices: [fraudV1] };

const who = (...roles: string[]) => ({ name: 'key:p', roles, origin: 'local' });

describe('access rules in the definitions', () => {
  test('services and views expand to their features; names and objects are both accepted; the rules stay outside the hash', () => {
    const plain = compileProject(defineProject(base));
    const project = compileProject(defineProject({
      ...base,
      access: [allow({ role: 'fraud-model', read: [fraudV1] }), deny({ role: 'analyst', read: ['profile:email'] }), allow({ role: 'analyst', read: ['profile'] }),
        allow({ role: 'ingest', push: [payments] }), allow({ role: 'ds', datasets: true }), allow({ role: 'admin', admin: ['apply', 'keys'], read: true })],
    }));
    expect(project.hash).toBe(plain.hash);
    expect(project.access).toEqual([
      { effect: 'allow', role: 'fraud-model', read: ['profile:age', 'stats:n'] },
      { effect: 'deny', role: 'analyst', read: ['profile:email'] },
      { effect: 'allow', role: 'analyst', read: ['profile:age', 'profile:email'] },
      { effect: 'allow', role: 'ingest', push: ['payments'] },
      { effect: 'allow', role: 'ds', datasets: true },
      { effect: 'allow', role: 'admin', read: ['*'], admin: ['apply', 'keys'] },
    ]);
  });

  test('unknown names, batch sources, unknown admin actions and empty rules are refused with the fix', () => {
    const refused = (rule: ReturnType<typeof allow>) => () => defineProject({ ...base, access: [rule] });
    expect(refused(allow({ role: 'm', read: ['fraud_v2'] }))).toThrow(/"fraud_v2" is not a feature service or view of the project \(did you mean "fraud_v1"\?\)/);
    expect(refused(allow({ role: 'm', read: ['profile:emial'] }))).toThrow(/view "profile" has no feature "emial" \(did you mean "email"\?\)/);
    expect(refused(allow({ role: 'm', push: [profiles] }))).toThrow(/source "profiles" is a batch source; only stream and CDC sources take pushed events \(payments\)/);
    expect(refused(allow({ role: 'm', admin: ['aply' as 'apply'] }))).toThrow(/admin action "aply" is not one of .* \(did you mean "apply"\?\)/);
    expect(refused(allow({ role: 'm' }))).toThrow(/grants or denies nothing/);
    expect(refused(allow({ role: 'bad role', read: true }))).toThrow(/role "bad role" is not valid/);
    expect(() => defineProject({ ...base, access: [{ role: 'x' } as never] })).toThrow(/access\[0\] is not an access rule; build it with allow/);
  });
});

describe('authorize', () => {
  const project = compileProject(defineProject({
    ...base,
    access: [allow({ role: 'analyst', read: [profile, fraudV1] }), deny({ role: 'analyst', read: ['profile:email'] }), allow({ role: 'ingest', push: true })],
  }));
  const policy = accessPolicy(project);

  test('deny wins over allow, default is deny, and each reason names the rule or the rule to add', () => {
    expect(authorize(policy, who('analyst'), 'read', 'profile:age')).toEqual({ allowed: true, reason: 'access[0] allows it to role "analyst"' });
    const denied = authorize(policy, who('analyst', 'ingest'), 'read', 'profile:email');
    expect(denied).toEqual({ allowed: false, reason: 'key:p may not read feature "profile:email": access[1] denies it to role "analyst" (a deny wins over any allow)' });
    expect(authorize(policy, who('ingest'), 'read', 'stats:n')).toEqual({
      allowed: false, reason: 'key:p may not read feature "stats:n": no access rule allows it to role "ingest"; to grant it, add allow({ role: "ingest", read: ["stats:n"] }) to access in sluice.config.ts',
    });
    expect(authorize(policy, who('ingest'), 'push', 'payments').allowed).toBe(true);
    expect(authorize(policy, who('analyst'), 'admin', 'apply').reason).toMatch(/add allow\({ role: "analyst", admin: \["apply"\] }\)/);
    expect(authorize(policy, { ...who(), open: true }, 'admin', 'erase').allowed).toBe(true);
  });

  test('the local operator may do anything unless a rule denies it', () => {
    expect(authorize(policy, who(LOCAL_OPERATOR_ROLE), 'admin', 'erase')).toEqual({ allowed: true, reason: 'the built-in local-operator rule allows it to role "local-operator"' });
    const strict = accessPolicy(compileProject(defineProject({ ...base, access: [deny({ role: LOCAL_OPERATOR_ROLE, admin: ['erase'] })] })));
    expect(authorize(strict, who(LOCAL_OPERATOR_ROLE), 'admin', 'erase').allowed).toBe(false);
    expect(authorize(strict, who(LOCAL_OPERATOR_ROLE), 'admin', 'apply').allowed).toBe(true);
  });
});

// Brute force: expand every rule into the set of (action, resource) pairs it covers over a small universe.
const ROLES = ['a', 'b', 'c'];
const UNIVERSE: Record<AccessAction, string[]> = { read: ['v:x', 'v:y', 'w:z'], push: ['s1', 's2'], datasets: [''], admin: ['apply', 'erase', 'keys'], run: ['dataset:d', 'materialize:v'] };
const listOf = (values: string[]) => fc.option(fc.oneof(fc.constant(['*']), fc.uniqueArray(fc.constantFrom(...values), { minLength: 1 })), { nil: undefined });
const ruleArb: fc.Arbitrary<AccessRule> = fc.record({
  effect: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'), role: fc.constantFrom(...ROLES),
  read: listOf(UNIVERSE.read), push: listOf(UNIVERSE.push), datasets: fc.option(fc.constant(true as const), { nil: undefined }), admin: listOf(UNIVERSE.admin), run: listOf(UNIVERSE.run),
}).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as AccessRule);

function reference(policy: readonly AccessRule[], roles: readonly string[], action: AccessAction, resource: string): boolean {
  const pairs = (effect: 'allow' | 'deny') => {
    const set = new Set<string>();
    for (const rule of policy.filter((r) => r.effect === effect && roles.includes(r.role))) {
      for (const a of Object.keys(UNIVERSE) as AccessAction[]) {
        for (const res of UNIVERSE[a]) {
          const granted = a === 'datasets' ? (rule.datasets ? ['*'] : []) : (rule[a] ?? []);
          if (granted.includes('*') || granted.includes(res)) set.add(`${a}/${res}`);
        }
      }
    }
    return set;
  };
  const key = `${action}/${resource}`;
  return pairs('allow').has(key) && !pairs('deny').has(key);
}

const request = fc.constantFrom(...(Object.keys(UNIVERSE) as AccessAction[])).chain((action) => fc.tuple(fc.constant(action), fc.constantFrom(...UNIVERSE[action])));

test('authorize agrees with a brute-force reference, ignores rule order, and more denies never allow more', () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { maxLength: 8 }), fc.uniqueArray(fc.constantFrom(...ROLES)), request, ruleArb, (policy, roles, [action, resource], extra) => {
      const decide = (p: readonly AccessRule[]) => authorize(p, who(...roles), action, resource).allowed;
      const allowed = decide(policy);
      expect(allowed).toBe(reference(policy, roles, action, resource));
      expect(decide([...policy].reverse())).toBe(allowed);
      const denyExtra: AccessRule = { ...extra, effect: 'deny' };
      if (!allowed) expect(decide([...policy, denyExtra])).toBe(false);
      if (decide([...policy, denyExtra]) === true) expect(allowed).toBe(true);
    }),
    { numRuns: 2000 },
  );
});

export type { Project };

describe('request views: the closure of what a feature reads', () => {
  const ratio = requestView({
    name: 'ratio', request: { amount: 'float64' }, inputs: [profile, stats],
    features: { per_visit: ({ request, stats: s }) => request.amount / Math.max(1, Number(s.n ?? 0)) }, types: { per_visit: 'float64' },
  });
  const project = compileProject(defineProject({ ...base, requestViews: [ratio] }));
  const INPUTS = ['profile:age', 'profile:email', 'stats:n'];

  test('a request-view feature depends on every feature of every input view, computed once per project', () => {
    expect([...readDependencies(project).get('ratio:per_visit')!].sort()).toEqual(INPUTS);
    expect(readDependencies(project)).toBe(readDependencies(project));
    expect(readDependencies(compileProject(defineProject(base))).size).toBe(0);
  });

  test('a request-view feature is readable exactly when it and each of its inputs is (fast-check, over random policies)', () => {
    const universe = ['ratio:per_visit', ...INPUTS];
    const rule = fc.record({ effect: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'), read: fc.uniqueArray(fc.constantFrom(...universe), { minLength: 1 }) })
      .map((r): AccessRule => ({ ...r, role: 'r' }));
    fc.assert(fc.property(fc.array(rule, { maxLength: 6 }), (policy) => {
      const one = (f: string) => authorize(policy, who('r'), 'read', f).allowed;
      const decision = authorizeRead(policy, who('r'), ['ratio:per_visit'], readDependencies(project));
      expect(decision.allowed).toBe(universe.every(one));
      // The first refused input in the order the request view reads them (its input views', then their features').
      const refusedInput = readDependencies(project).get('ratio:per_visit')!.find((f) => !one(f));
      if (one('ratio:per_visit') && refusedInput) expect(decision.reason).toContain(`"ratio:per_visit" is computed from "${refusedInput}"`);
    }), { numRuns: 500 });
  });
});
