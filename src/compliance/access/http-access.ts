import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessRule, Project } from '../../definitions/index.js';
import { AuthenticationError, PolicyError } from '../../errors.js';
import type { KeyStore } from '../../storage/metadata/key-store.js';
import type { Principal } from '../principal.js';
import { keyPrincipal, type KeyRefusal } from './api-keys.js';
import type { AuditBuffer } from './audit-buffer.js';
import { readDependencies } from './read-dependencies.js';
import { accessPolicy, auditActionOf, authorize, authorizeRead, readRefusal, readSelection, STATUS_RIGHT, type AccessAction, type AccessDecision } from './authorize.js';
import { cachedKeyVerifier } from './key-verifier.js';

/** What a route requires: one right (checked before its handler), `handler` (its handler checks), or `public`. */
export type RouteAccess =
  | { readonly action: AccessAction; readonly resource: (request: FastifyRequest) => string; readonly audit: string | ((resource: string) => string) }
  | 'handler'
  | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking (see `Principal`); set before any handler runs. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** The right a route requires; a route with none is refused by default when auth is on. */
    access?: RouteAccess;
  }
}

const status = (path: string): RouteAccess => ({ action: STATUS_RIGHT.action, resource: () => STATUS_RIGHT.resource, audit: `route:${path}` });

/** The rights of the server's own routes. `/metrics` is operational data: it needs `admin: ["status"]` like the registry. */
const ROUTES: Readonly<Record<string, RouteAccess>> = {
  '/health': 'public',
  '/v1/registry': status('/v1/registry'),
  '/v1/streams': status('/v1/streams'),
  '/metrics': status('/metrics'),
  '/v1/features/online': 'handler',
  '/v1/push/:source': { action: 'push', resource: (request) => (request.params as { source: string }).source, audit: (source) => `source:${source}` },
};


export interface AccessControlOptions {
  readonly keys: KeyStore;
  readonly audit: AuditBuffer;
  /** The applied project (its `access` rules), as the server last read it. */
  readonly project: () => Project | undefined;
  readonly now: () => number;
  /** Require keys even with no key or rule defined (a server not on loopback): every request but `/health` is then refused. */
  readonly requireAuth?: boolean;
  readonly keyCacheMs?: number;
}

export interface AccessControl {
  /** Whether requests must carry a valid key: a key exists, the project has rules, or `requireAuth`. */
  enabled(): boolean;
  /** Looks again whether a key was created (the server calls this on its registry poll). */
  refresh(): Promise<void>;
  /** Authorizes reading each feature (`view:feature`) of a request, or throws a 403 naming the first refused one; audits the outcome. */
  checkRead(request: FastifyRequest, body: { readonly service?: string | undefined; readonly features?: readonly string[] | undefined }, entities: number): void;
}

const MESSAGES: Record<KeyRefusal | 'missing', string> = {
  missing: 'this server requires an API key: send the header "Authorization: Bearer sk_..." (an admin creates one with: sluice keys create --principal NAME --role ROLE)',
  malformed: 'the Authorization header does not hold a Sluice API key ("Bearer sk_<id>_<secret>"); check the key you were given',
  unknown: 'the API key is not valid (unknown, revoked or mistyped); ask an admin for a valid key (sluice keys list, sluice keys create)',
  forged: 'the API key is not valid (unknown, revoked or mistyped); ask an admin for a valid key (sluice keys list, sluice keys create)',
  revoked: 'the API key is not valid (unknown, revoked or mistyped); ask an admin for a valid key (sluice keys list, sluice keys create)',
};

/**
 * Authentication and authorization on every route of a Sluice server. Auth is on as soon as any
 * key exists or the project has an access rule (or `requireAuth`); then every route but
 * `/health` needs `Authorization: Bearer <key>`: 401 `UNAUTHENTICATED` without a valid key, 403
 * `POLICY_DENIED` for a key without the right. Sets `request.principal` for handlers (an open
 * `anonymous` principal while auth is off). Audits every refusal, and every allowed access while
 * auth is on, through the group-committed `audit` buffer.
 *
 * @example
 * const access = registerAccessControl(app, { keys: ctx.metadata.keys, audit, project: () => registry?.project, now: ctx.now });
 */
export async function registerAccessControl(app: FastifyInstance, options: AccessControlOptions): Promise<AccessControl> {
  const verifier = cachedKeyVerifier(options.keys, options.keyCacheMs === undefined ? {} : { ttlMs: options.keyCacheMs });
  let keysExist = await options.keys.any();
  const enabled = () => options.requireAuth === true || keysExist || (options.project()?.access?.length ?? 0) > 0;
  const record = (principal: Principal, action: string, target: string, decision: AccessDecision, details?: Record<string, unknown>) =>
    options.audit.record({
      actor: principal.name, action, target, outcome: decision.allowed ? 'allowed' : 'denied', origin: principal.origin,
      ...(decision.allowed ? (details ? { details } : {}) : { details: { ...details, reason: decision.reason } }),
    }, options.now());
  const policy = (): readonly AccessRule[] => accessPolicy(options.project());

  // Authenticates and authorizes a request that carries (or lacks) a key: only while auth is on.
  const authenticate = async (request: FastifyRequest, reply: FastifyReply, origin: string, route: string | undefined, access: Exclude<RouteAccess, 'public'> | undefined): Promise<void> => {
    const header = request.headers.authorization;
    // The scheme is case-insensitive (RFC 7235).
    const token = header !== undefined && /^bearer\s/i.test(header) ? header.slice(7).trim() : undefined;
    const check = token === undefined ? undefined : await verifier.verify(token);
    if (!check?.ok) {
      const refusal = check ? check.refusal : header === undefined ? 'missing' : 'malformed';
      const target = `route:${request.method} ${(route ?? request.url.split('?')[0]!).slice(0, 200)}`;
      options.audit.record({ actor: 'anonymous', action: 'auth.denied', target, outcome: 'denied', origin, details: { reason: refusal, ...(check?.ok === false && check.id ? { keyId: check.id } : {}) } }, options.now());
      void reply.header('www-authenticate', 'Bearer realm="sluice"');
      throw new AuthenticationError('UNAUTHENTICATED', MESSAGES[refusal]);
    }
    const principal = keyPrincipal(check.key, origin);
    request.principal = principal;
    // An unknown path (404, 405) reveals nothing once the caller is authenticated.
    if (route === undefined || access === 'handler') return;
    if (access === undefined) {
      const decision = { allowed: false, reason: `route ${request.method} ${route} declares no access rule, so it is refused by default` };
      record(principal, 'route.access', `route:${route}`, decision);
      throw new PolicyError('POLICY_DENIED', decision.reason);
    }
    const resource = access.resource(request);
    const decision = authorize(policy(), principal, access.action, resource);
    const target = typeof access.audit === 'string' ? access.audit : access.audit(resource);
    record(principal, auditActionOf(access.action, resource), target, decision);
    if (!decision.allowed) throw new PolicyError('POLICY_DENIED', decision.reason);
  };

  app.decorateRequest('principal', null as unknown as Principal);
  // A callback hook: with auth off (or a public route) no promise per request; with auth on, the key check's.
  app.addHook('onRequest', (request, reply, done) => {
    const origin = `ip:${request.ip}`;
    // `routeOptions` is a getter that builds a new object on each read: read it once.
    const routeOptions = request.routeOptions;
    const route = routeOptions.url;
    const access = route === undefined ? undefined : (routeOptions.config.access ?? ROUTES[route]);
    const on = enabled();
    if (!on || access === 'public') {
      request.principal = { name: 'anonymous', roles: [], origin, open: !on };
      done();
      return;
    }
    authenticate(request, reply, origin, route, access).then(() => done(), done);
  });

  // Per policy, principal and role set, the decision for each service (the common request), so the hot path rarely walks the rules.
  const serviceDecisions = new WeakMap<readonly AccessRule[], Map<string, AccessDecision>>();

  return {
    enabled,
    async refresh() {
      if (!keysExist) keysExist = await options.keys.any();
    },
    checkRead(request, body, entities) {
      const principal = request.principal;
      if (principal.open) return;
      const project = options.project();
      const rules = policy();
      const read = readSelection(project, body);
      if (!read) {
        // A service the registry lacks: answered 404 (as without access control), audited as refused.
        const unknown = readRefusal(project, rules, principal, body);
        if (!unknown) return;
        record(principal, 'serve.read', `service:${String(body.service)}`.slice(0, 200), { allowed: false, reason: unknown.reason }, { entities });
        throw unknown.error;
      }
      let decision: AccessDecision | undefined;
      if (body.service !== undefined) {
        let cache = serviceDecisions.get(rules);
        if (!cache) serviceDecisions.set(rules, (cache = new Map()));
        const key = `${principal.name}\u0001${principal.roles.join('\0')}\u0001${body.service}`;
        decision = cache.get(key);
        if (!decision) cache.set(key, (decision = authorizeRead(rules, principal, read.features, readDependencies(project))));
      }
      decision ??= authorizeRead(rules, principal, read.features, readDependencies(project));
      const refusal = decision.allowed ? undefined : readRefusal(project, rules, principal, body, decision);
      record(principal, 'serve.read', read.target, refusal ? { allowed: false, reason: refusal.reason } : decision, { entities });
      if (refusal) throw refusal.error;
    },
  };
}
