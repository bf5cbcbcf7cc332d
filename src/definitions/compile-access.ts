import { ADMIN_ACTIONS, type AccessRule, type AccessRuleSpec, type ReadTarget } from './access-types.js';
import { isStreamed } from './compile-source.js';
import { jobNameOf, runRightNames } from './jobs.js';
import { didYouMean } from './suggest.js';
import type { DefinitionChange } from './plan-changes.js';
import type { Project, SourceSpec } from './types.js';
import { fail } from './validate-names.js';

/** Role names: letters, digits, `.`, `_` and `-`, starting with a letter or digit (`fraud-model`, `ds`). */
const ROLE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What is wrong with a role name (undefined: nothing); the one rule, for policies and `sluice keys create --role`. */
export function roleNameProblem(role: unknown): string | undefined {
  if (typeof role === 'string' && ROLE.test(role)) return undefined;
  return `role ${JSON.stringify(role)} is not valid: use letters, digits, ".", "_" and "-", starting with a letter or digit (at most 64 characters), e.g. "fraud-model"`;
}

/** Principal names (a key's `--principal`, a schedule's `as.name`): letters, digits, `.`, `_`, `@` and `-`, starting with a letter or digit. */
const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** What is wrong with a principal name (undefined: nothing); the one rule, for API keys and the identities jobs run as. */
export function principalNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && PRINCIPAL.test(name)) return undefined;
  return `principal ${JSON.stringify(name)} is not valid: use letters, digits, ".", "_", "@" and "-", starting with a letter or digit (at most 128 characters), e.g. "fraud-scorer"`;
}

const nameOf = (target: unknown): unknown => (target !== null && typeof target === 'object' ? (target as { name?: unknown }).name : target);

function readFeatures(where: string, target: ReadTarget, project: Project): string[] {
  const views = new Map([...project.featureViews, ...(project.requestViews ?? [])].map((v) => [v.name, v.features.map((f) => f.name)] as const));
  const services = new Map(project.featureServices.map((s) => [s.name, s.features.map((f) => `${f.view}:${f.feature}`)] as const));
  const all = [...services.keys(), ...views.keys()];
  const kind = typeof target === 'object' && target !== null ? (target as { kind?: unknown }).kind : undefined;
  const name = nameOf(target);
  if (typeof name !== 'string') fail(`${where}: read entries must be feature services, views or names ("fraud_v1", "txn_stats", "txn_stats:amount"), not ${JSON.stringify(target)}`);
  if (kind === 'featureService') {
    const features = services.get(name);
    if (!features) fail(`${where}: feature service "${name}" is not in the project's featureServices; add it there`);
    return features;
  }
  if (kind === 'featureView' || kind === 'requestView') {
    const features = views.get(name);
    if (!features) fail(`${where}: view "${name}" is not in the project; add it to featureViews or requestViews`);
    return features.map((f) => `${name}:${f}`);
  }
  if (name.includes(':')) {
    const [view = '', feature = ''] = name.split(':');
    const features = views.get(view);
    if (!features) fail(`${where}: "${name}" names view "${view}", which is not in the project${didYouMean(view, views.keys())}`);
    if (!features.includes(feature)) fail(`${where}: view "${view}" has no feature "${feature}"${didYouMean(feature, features)}`);
    return [name];
  }
  const service = services.get(name);
  const view = views.get(name);
  if (service && view) fail(`${where}: "${name}" is both a feature service and a view; pass the object (fraudV1 or txnStats) to say which`);
  if (service) return service;
  if (view) return view.map((f) => `${name}:${f}`);
  fail(`${where}: "${name}" is not a feature service or view of the project${didYouMean(name, all)}`);
}

function pushSources(where: string, targets: readonly (SourceSpec | string)[], project: Project): string[] {
  const streamed = project.sources.filter(isStreamed).map((s) => s.name);
  return targets.map((target) => {
    const name = nameOf(target);
    if (typeof name !== 'string') fail(`${where}: push entries must be stream sources or their names, not ${JSON.stringify(target)}`);
    if (!project.sources.some((s) => s.name === name)) fail(`${where}: push names source "${name}", which is not in the project${didYouMean(name, streamed)}`);
    if (!streamed.includes(name)) fail(`${where}: source "${name}" is a batch source; only stream and CDC sources take pushed events (${streamed.join(', ') || 'the project has none'})`);
    return name;
  });
}

function runJobs(where: string, targets: readonly unknown[], project: Project): string[] {
  const jobs = runRightNames(project);
  return targets.map((target) => {
    const name = jobNameOf(target);
    if (name === undefined) fail(`${where}: run entries must be job names ("dataset:train") or the feature view, transform, batch source or dataset a job acts on, not ${JSON.stringify(target)}`);
    if (!jobs.includes(name)) fail(`${where}: run names job "${name}", which is not in the project${didYouMean(name, jobs)}; jobs: ${jobs.join(', ') || 'none'}`);
    return name;
  });
}

const sortedUnique = (values: readonly string[]): string[] => [...new Set(values)].sort();

function compileRule(spec: AccessRuleSpec, index: number, project: Project): AccessRule {
  if (spec?.kind !== 'accessRule' || (spec.effect !== 'allow' && spec.effect !== 'deny')) fail(`access[${index}] is not an access rule; build it with allow({...}) or deny({...})`);
  const where = `access[${index}] (${spec.effect} role ${JSON.stringify(spec.role)})`;
  const problem = roleNameProblem(spec.role);
  if (problem) fail(`access[${index}]: ${problem}`);
  const list = <T>(field: string, value: readonly T[] | true | undefined, example: string): readonly T[] | true | undefined => {
    if (value === undefined || value === true) return value;
    if (!Array.isArray(value)) fail(`${where}: ${field} must be a list (e.g. ${field}: [${example}]) or true, not ${JSON.stringify(value)}`);
    return value;
  };
  const read = list('read', spec.read, 'fraudV1, "txn_stats:amount_sum_24h"');
  const push = list('push', spec.push, 'payments');
  const admin = list('admin', spec.admin, '"apply", "erase"');
  const run = list('run', spec.run, '"dataset:train"');
  if (spec.datasets !== undefined && typeof spec.datasets !== 'boolean') fail(`${where}: datasets must be true or false, not ${JSON.stringify(spec.datasets)}`);
  for (const action of admin === true || admin === undefined ? [] : admin) {
    if (!(ADMIN_ACTIONS as readonly string[]).includes(action)) fail(`${where}: admin action ${JSON.stringify(action)} is not one of ${ADMIN_ACTIONS.join(', ')}${didYouMean(String(action), ADMIN_ACTIONS)}`);
  }
  const rule: AccessRule = {
    effect: spec.effect, role: spec.role,
    ...(read === undefined ? {} : { read: read === true ? ['*'] : sortedUnique(read.flatMap((t) => readFeatures(where, t, project))) }),
    ...(push === undefined ? {} : { push: push === true ? ['*'] : sortedUnique(pushSources(where, push, project)) }),
    ...(spec.datasets ? { datasets: true as const } : {}),
    ...(admin === undefined ? {} : { admin: admin === true ? ['*'] : sortedUnique(admin) }),
    ...(run === undefined ? {} : { run: run === true ? ['*'] : sortedUnique(runJobs(where, run, project)) }),
  };
  if (!rule.read?.length && !rule.push?.length && !rule.datasets && !rule.admin?.length && !rule.run?.length) {
    fail(`${where}: it grants or denies nothing; give read, push, datasets, admin or run, e.g. ${spec.effect}({ role: "${spec.role}", read: [fraudV1] })`);
  }
  return rule;
}

/**
 * Validates a project's access rules against its definitions: every service, view, feature and
 * source named exists (with a did-you-mean), push names only stream or CDC sources, admin actions
 * are known. Services and views expand to their features, so a rule on a service and one on a
 * feature meet on the same names. Rules change no value, so no hash.
 *
 * @example
 * compileAccess([allow({ role: 'fraud-model', read: [fraudV1] })], project);
 */
export function compileAccess(specs: readonly AccessRuleSpec[], project: Project): AccessRule[] {
  if (!Array.isArray(specs)) fail(`project "${project.name}": "access" must be a list of allow({...}) and deny({...}) rules`);
  return specs.map((spec, i) => compileRule(spec, i, project));
}

/**
 * Grants a role rights: to read features (`read`: services, views or `"view:feature"`), push to
 * stream sources (`push`), build datasets (`datasets: true`), run administrative actions
 * (`admin`), or run jobs (`run`: `"dataset:train"`, or the view, transform, source or dataset). Anything no rule allows is denied; a `deny` wins over any `allow`.
 *
 * @example
 * allow({ role: 'fraud-model', read: [fraudV1] });
 * allow({ role: 'admin', admin: ['apply', 'erase', 'retention', 'keys'] });
 */
export function allow(rule: Omit<AccessRuleSpec, 'kind' | 'effect'>): AccessRuleSpec {
  return Object.freeze({ ...rule, kind: 'accessRule', effect: 'allow' });
}

/**
 * Takes rights away from a role, whatever any `allow` grants it (deny wins).
 *
 * @example
 * deny({ role: 'analyst', read: ['profile:email'] });
 */
export function deny(rule: Omit<AccessRuleSpec, 'kind' | 'effect'>): AccessRuleSpec {
  return Object.freeze({ ...rule, kind: 'accessRule', effect: 'deny' });
}

/** A rule in one line: `allow role "analyst": read profile:age, profile:email`. */
export function describeRule(rule: AccessRule): string {
  const rights = [
    ...(rule.read ? [`read ${rule.read.join(', ')}`] : []), ...(rule.push ? [`push ${rule.push.join(', ')}`] : []),
    ...(rule.datasets ? ['datasets'] : []), ...(rule.admin ? [`admin ${rule.admin.join(', ')}`] : []), ...(rule.run ? [`run ${rule.run.join(', ')}`] : []),
  ];
  return `${rule.effect} role "${rule.role}": ${rights.join('; ')}`;
}

/** The access rules a plan adds and removes, as one change (rules have no names); undefined when they are the same. */
export function accessChange(before: readonly AccessRule[], after: readonly AccessRule[]): DefinitionChange | undefined {
  const old = new Set(before.map(describeRule));
  const next = new Set(after.map(describeRule));
  const details = [...[...next].filter((r) => !old.has(r)).map((r) => `+ ${r}`), ...[...old].filter((r) => !next.has(r)).map((r) => `- ${r}`)];
  if (details.length === 0) return undefined;
  return { action: before.length === 0 ? 'add' : after.length === 0 ? 'remove' : 'change', kind: 'access', name: 'rules', details };
}
