import { userInfo } from 'node:os';
import { LOCAL_OPERATOR_ROLE, type AdminAction, type Project } from '../../definitions/index.js';
import { AuthenticationError, PolicyError } from '../../errors.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import type { KeyStore } from '../../storage/metadata/key-store.js';
import type { Principal } from '../principal.js';
import { checkApiKey, keyPrincipal } from './api-keys.js';
import { readDependencies } from './read-dependencies.js';
import { accessPolicy, auditActionOf, authorize, authorizeRead, readRefusal, readSelection, STATUS_RIGHT, type AccessAction } from './authorize.js';
import { workRights } from './job-rights.js';
import { authorizeShownValues, type ShownValues } from './shown-values.js';

/** The environment variable that makes the CLI act as a key's principal instead of the local operator. */
export const API_KEY_ENV = 'SLUICE_API_KEY';

interface AccessStores {
  readonly metadata: { readonly keys: KeyStore; readonly audit: AuditTrail; latestRegistry(): Promise<{ readonly project: Project } | undefined> };
  readonly now: () => number;
}

/**
 * Who the CLI acts as. With `SLUICE_API_KEY` set, that key's principal (checked like a server
 * key: a bad key is refused and audited). Otherwise the local operator, `cli:<os user>` with the
 * role `local-operator`: whoever can run the CLI on the data directory can read its files (lake,
 * metadata, project secret) anyway, so a policy cannot keep data from them; it can hold them to
 * account (every admin action is audited under their name) and a `deny` for `local-operator`
 * makes an action need a named key.
 *
 * @example
 * const principal = await cliPrincipal(platform);
 */
export async function cliPrincipal(ctx: AccessStores, command?: LongLivedCommand): Promise<Principal> {
  const token = process.env[API_KEY_ENV];
  if (token !== undefined && token !== '') {
    const check = await checkApiKey(ctx.metadata.keys, token.trim());
    if (check.ok) return keyPrincipal(check.key, 'local');
    // A long-lived process refused at a check names itself: it is the one that shuts down.
    await ctx.metadata.audit.append({ actor: 'anonymous', action: 'auth.denied', target: command === undefined ? 'cli' : `cli:${command}`, outcome: 'denied', origin: 'local', details: { reason: check.refusal, ...(check.id ? { keyId: check.id } : {}), ...(command === undefined ? {} : { shutDown: command }) } }, ctx.now());
    throw new AuthenticationError('UNAUTHENTICATED', `${API_KEY_ENV} is not a valid API key (unknown, revoked or mistyped); set it to a valid key, or unset it to act as the local operator`);
  }
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return { name: `cli:${user}`, roles: [LOCAL_OPERATOR_ROLE], origin: 'local' };
}

/** Where a CLI decision's audit record points, by action. */
const CLI_TARGET: Record<Exclude<AccessAction, 'read'>, (resource: string) => string> = {
  admin: (r) => `admin:${r}`, datasets: () => 'datasets', push: (r) => `source:${r}`, run: (r) => `job:${r}`,
};

/**
 * Authorizes an action of the CLI against the applied project's access rules (the rules in force
 * before the command, so a change cannot grant itself) and audits the decision as HTTP does
 * (`admin.<action>`, `dataset.build`, `job.authorize`, ...); throws a `PolicyError` when denied.
 *
 * @example
 * await authorizeCli(platform, principal, 'admin', 'apply');
 */
export async function authorizeCli(ctx: AccessStores, principal: Principal, action: Exclude<AccessAction, 'read'>, resource: AdminAction | 'datasets' | (string & {})): Promise<void> {
  const applied = await ctx.metadata.latestRegistry();
  const decision = authorize(accessPolicy(applied?.project), principal, action, resource);
  await ctx.metadata.audit.append({
    actor: principal.name, action: auditActionOf(action, resource), target: CLI_TARGET[action](resource),
    outcome: decision.allowed ? 'allowed' : 'denied', origin: principal.origin, ...(decision.allowed ? {} : { details: { reason: decision.reason } }),
  }, ctx.now());
  if (!decision.allowed) throw new PolicyError('POLICY_DENIED', decision.reason);
}

/**
 * Authorizes the CLI doing the work of jobs (`sluice materialize` of a view, `transform run`,
 * `ingest`) with the rights `sluice run JOB` and the scheduler ask (`workRights`: `run` on each
 * catalogue job, `push` on a stream source, `run` on any other name). No name is skipped; the
 * commands name a source or view the registry lacks as not found before asking (`findSource`, `findView`).
 *
 * @example
 * await authorizeCliJobs(platform, principal, project, ['materialize:profile']);
 */
export async function authorizeCliJobs(ctx: AccessStores, principal: Principal, project: Project, jobs: readonly string[]): Promise<void> {
  for (const job of jobs) for (const [action, resource] of workRights(project, job)) await authorizeCli(ctx, principal, action, resource);
}

/**
 * Authorizes the CLI reading operational data (`sluice status`, `runs`, `alerts`, `checks`,
 * `quarantine list`) with the right `GET /v1/streams` and `/metrics` ask (`STATUS_RIGHT`).
 *
 * @example
 * await authorizeCliStatus(platform);
 */
export async function authorizeCliStatus(ctx: AccessStores): Promise<void> {
  await authorizeCli(ctx, await cliPrincipal(ctx), STATUS_RIGHT.action, STATUS_RIGHT.resource);
}

/**
 * Authorizes starting one of the platform's long-lived processes (`sluice serve`, `worker`,
 * `scheduler`), which write what the project's connectors deliver and run its schedules: a bad
 * `SLUICE_API_KEY` is refused (not ignored), and a key needs `admin: ["serve"]` (audited
 * `admin.serve`). The jobs the scheduler starts are still authorized each as its schedule's identity.
 *
 * @example
 * await authorizeCliProcess(platform);
 */
export async function authorizeCliProcess(ctx: AccessStores): Promise<void> {
  await authorizeCli(ctx, await cliPrincipal(ctx), 'admin', 'serve');
}

/** The long-lived commands that keep to their key (`watchCliProcessKey`). */
export type LongLivedCommand = 'serve' | 'worker' | 'scheduler';

/** How often a long-lived process started with a key checks it again: `SLUICE_KEY_RECHECK_MS`, default a minute. */
function keyRecheckMs(): number {
  const ms = Number(process.env.SLUICE_KEY_RECHECK_MS);
  return Number.isInteger(ms) && ms > 0 ? ms : 60_000;
}

/**
 * Keeps a long-lived process (`serve`, `worker`, `scheduler`) started with `SLUICE_API_KEY` to its
 * key: checks it again every `SLUICE_KEY_RECHECK_MS` (default a minute), and `refused` rejects once
 * the key is revoked or no longer has `admin: ["serve"]` (the refusal audited as at start; a check
 * that passes is not audited). Without a key (the local operator) nothing is checked and `refused`
 * never settles. A check that fails for another reason (the metadata store busy) is tried at the
 * next one.
 *
 * @example
 * const key = watchCliProcessKey(platform, 'worker'); await untilSignal(key.refused); key.stop();
 */
export function watchCliProcessKey(ctx: AccessStores, command: LongLivedCommand): { readonly refused: Promise<never>; stop(): void } {
  const token = process.env[API_KEY_ENV];
  if (token === undefined || token === '') return { refused: new Promise<never>(() => undefined), stop: () => undefined };
  let timer: NodeJS.Timeout | undefined;
  const refused = new Promise<never>((_resolve, reject) => {
    const check = async (): Promise<void> => {
      try {
        const principal = await cliPrincipal(ctx, command);
        const applied = await ctx.metadata.latestRegistry();
        if (!authorize(accessPolicy(applied?.project), principal, 'admin', 'serve').allowed) await authorizeCli(ctx, principal, 'admin', 'serve');
      } catch (error) {
        if (error instanceof AuthenticationError || error instanceof PolicyError) {
          clearInterval(timer);
          reject(error);
        }
      }
    };
    timer = setInterval(() => void check(), keyRecheckMs());
    timer.unref();
  });
  return { refused, stop: () => clearInterval(timer) };
}

/**
 * Authorizes the CLI reading online features (`sluice get`) like the server does: every requested
 * feature must be readable. Audited as `serve.read` (target the service or views, the entity count).
 *
 * @example
 * await authorizeCliRead(platform, principal, project, { service: 'fraud_v1' }, 2);
 */
export async function authorizeCliRead(ctx: AccessStores, principal: Principal, project: Project, selection: { readonly service?: string; readonly features?: readonly string[] }, entities: number): Promise<void> {
  const policy = accessPolicy(project);
  const read = readSelection(project, selection);
  const decision = read && authorizeRead(policy, principal, read.features, readDependencies(project));
  // A name the project lacks is answered as without access control (404), any other refusal 403 (`readRefusal`).
  const refusal = principal.open || decision?.allowed ? undefined : readRefusal(project, policy, principal, selection, decision);
  if (!read && !refusal) return;
  await ctx.metadata.audit.append({
    actor: principal.name, action: 'serve.read', target: read?.target ?? `service:${String(selection.service)}`.slice(0, 200), outcome: refusal ? 'denied' : 'allowed', origin: principal.origin,
    details: refusal ? { entities, reason: refusal.reason } : { entities },
  }, ctx.now());
  if (refusal) throw refusal.error;
}

/**
 * Authorizes a CLI command showing recorded values (`skew` examples, `drift` bins, `dlq` rows) by
 * the rule every door keeps (`authorizeShownValues`): a feature's values need its read right, a
 * source's rows the right to write it. Audited `values.read`, target `cli:<command>`, allowed or
 * denied; throws a `PolicyError` when denied.
 *
 * @example
 * await authorizeCliValues(platform, principal, project, 'skew', { features: servedFeatures(project, 'fraud_v1') });
 */
export async function authorizeCliValues(ctx: AccessStores, principal: Principal, project: Project, command: string, shown: ShownValues): Promise<void> {
  const decision = authorizeShownValues(accessPolicy(project), principal, project, shown);
  await ctx.metadata.audit.append({
    actor: principal.name, action: 'values.read', target: `cli:${command}`, outcome: decision.allowed ? 'allowed' : 'denied', origin: principal.origin,
    details: { features: shown.features?.length ?? 0, sources: [...(shown.sources ?? [])], ...(decision.allowed ? {} : { reason: decision.reason }) },
  }, ctx.now());
  if (!decision.allowed) throw new PolicyError('POLICY_DENIED', `sluice ${command}: ${decision.reason}`);
}
