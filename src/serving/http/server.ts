import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Project } from '../../definitions/index.js';
import { isSluiceError, ValidationError } from '../../errors.js';
import type { Platform } from '../../platform.js';
import type { RegistryVersion } from '../../storage/metadata/metadata-store.js';
import { toIso } from '../../time/index.js';
import { latestSnapshots, type LatestSnapshots } from '../latest-snapshots.js';
import { getOnlineFeatures, type OnlineFeaturesRequest } from '../online-features.js';
import { ERROR_STATUS } from './error-status.js';

export interface ServerOptions {
  /** How often the server looks for a newly applied registry version. Default 1 s. */
  readonly registryRefreshMs?: number;
  readonly logger?: boolean;
}

/**
 * The HTTP API: `POST /v1/features/online`, `GET /v1/registry`, `GET /health`. Errors are JSON
 * `{"error": {"code", "message"}}` with the status from `ERROR_STATUS`; bad input is always a
 * 4xx, never a 500.
 *
 * @example
 * const app = await createServer(openPlatform({ projectDir: '.' }));
 * await app.listen({ port: 6566 });
 */
export async function createServer(platform: Platform, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 8 * 1024 * 1024 });
  const online = await platform.online();
  let registry: RegistryVersion | undefined = await platform.metadata.latestRegistry();
  // The latest snapshot per source, refreshed with the registry so requests never query SQLite.
  let latest: LatestSnapshots = registry ? await latestSnapshots(platform.metadata, registry.project) : new Map();
  let checkedAt = platform.now();
  const served = { values: 0, stale: 0 };
  const poll = async () => {
    const next = await platform.metadata.latestRegistry();
    if (next && next.version !== registry?.version) registry = next;
    if (registry) latest = await latestSnapshots(platform.metadata, registry.project);
    checkedAt = platform.now();
  };
  const refresh = setInterval(() => {
    poll().catch((error: unknown) => app.log.error(error));
  }, options.registryRefreshMs ?? 1_000);
  refresh.unref();
  app.addHook('onClose', async () => clearInterval(refresh));

  const project = async (): Promise<Project> => {
    if (registry) return registry.project;
    registry = await platform.metadata.latestRegistry();
    if (!registry) return platform.project();
    return registry.project;
  };

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (isSluiceError(error)) {
      return reply.status(ERROR_STATUS[error.code] ?? 500).send({ error: { code: error.code, message: error.message } });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ error: { code: 'BAD_REQUEST', message: error.message } });
    }
    app.log.error(error);
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } }),
  );

  app.get('/health', async () => ({
    status: 'ok', registryVersion: registry?.version ?? null,
    // Values served since start, and how many of them were STALE; as of the last snapshot check.
    served, snapshotsCheckedAt: toIso(checkedAt),
  }));
  app.get('/v1/registry', async () => {
    const p = await project();
    return { version: registry?.version ?? null, appliedAt: registry ? new Date(registry.appliedAt).toISOString() : null, project: p };
  });
  app.post('/v1/features/online', async (request) => {
    const body = request.body as OnlineFeaturesRequest | undefined;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ValidationError('BAD_REQUEST', 'the body must be a JSON object: {"entities": {...}, "service": "..."} or "features": [...]');
    }
    if (body.entities === null || typeof body.entities !== 'object' || Array.isArray(body.entities)) {
      throw new ValidationError('BAD_REQUEST', '"entities" must be an object of join key to values, e.g. {"customer_id": ["c1"]}');
    }
    if (body.service !== undefined && typeof body.service !== 'string') throw new ValidationError('BAD_REQUEST', '"service" must be a string');
    if (body.features !== undefined && (!Array.isArray(body.features) || body.features.some((f) => typeof f !== 'string'))) {
      throw new ValidationError('BAD_REQUEST', '"features" must be an array of "view:feature" strings');
    }
    const response = await getOnlineFeatures(await project(), online, body, platform.now(), latest);
    served.values += response.rows.length * response.features.length;
    served.stale += response.stale;
    return response;
  });
  return app;
}
