import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-status.js';

/**
 * Answers a request no route takes: 405 with `Allow` when its path has routes for other methods
 * (a `:param` matches one path segment), else 404. Call before registering the routes: it learns
 * them as they are added.
 *
 * @example
 * registerMissingRoutes(app);
 * app.get('/health', ...); // POST /health now answers 405, Allow: GET, HEAD
 */
export function registerMissingRoutes(app: FastifyInstance): void {
  const methods = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  app.addHook('onRoute', (route) => {
    const entry = methods.get(route.url) ?? { pattern: new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`), methods: new Set<string>() };
    for (const method of [route.method].flat()) entry.methods.add(method);
    methods.set(route.url, entry);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = [...methods.values()].find((entry) => entry.pattern.test(path))?.methods;
    if (allowed) {
      const allow = [...allowed].join(', ');
      return reply.status(405).header('allow', allow).send(errorBody('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; use ${allow}`));
    }
    // A path one segment short of a route (POST /v1/features for /v1/features/online) names it.
    const base = path.replace(/\/+$/, '');
    const longer = base === '' ? [] : [...methods.entries()].filter(([url, entry]) => url.startsWith(`${base}/`) && !url.slice(base.length + 1).includes('/') && entry.methods.has(request.method)).map(([url]) => url);
    return reply.status(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url}${longer.length > 0 ? ` (did you mean ${longer.map((u) => `${request.method} ${u}`).join(', ')}?)` : ''}`));
  });
}
