import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Project, RequestFunctions } from '../../definitions/index.js';
import { isSluiceError } from '../../errors.js';
import type { Platform } from '../../platform.js';
import type { RegistryVersion } from '../../storage/metadata/metadata-store.js';
import { toIso } from '../../time/index.js';
import { latestSnapshots, type LatestSnapshots } from '../latest-snapshots.js';
import type { OnlineFeaturesRequest } from '../online-features.js';
import type { RequestFeatureError } from '../serve-request-views.js';
import { userErrorReason } from '../../compliance/masking/user-error-token.js';
import { projectSecret } from '../../compliance/project-secret.js';
import { stringifyExact } from '../exact-json.js';
import { SluiceMetrics } from '../../observability/metrics.js';
import { qualityMetrics } from '../../quality/quality-metrics.js';
import { storeMetrics } from '../../observability/store-metrics.js';
import { skewMetrics } from '../../observability/skew/skew-metrics.js';
import { ERROR_STATUS, errorBody } from './error-status.js';
import { registerMissingRoutes } from './route-methods.js';
import { checkEntityCap, getOnlineFeaturesSliced } from './sliced-online-features.js';
import { registerPushRoute } from './push-route.js';
import { registerEraseRoute } from './erase-route.js';
import type { StreamProcessor } from '../../streaming/stream-processor.js';
import { createLogger, type Logger, type LogLevel } from '../../observability/log.js';
import { endRequestSpan, startRequestSpan, tracingEnabled } from '../../observability/tracing.js';
import type { Span } from '@opentelemetry/api';
import { startServerServingLog } from './server-serving-log.js';
import type { ListenAddress } from './server-name.js';
import { parseOnlineRequest } from './parse-online-request.js';
import { answerJson } from './answer-json.js';
import { answerBytes, BYTES_FROM_ELEMENTS } from './answer-bytes.js';
import { RowValueEnds } from './value-ends.js';
import { answerFormat, columnarAnswer } from './columnar-answer.js';
import { registerDriftMetrics } from '../../observability/drift/drift-metrics.js';
import { registerUtf8JsonParser } from './utf8-json.js';
import { requestId } from './request-id.js';
import { requestLogger } from './request-logger.js';
import { maskServedAnswer } from '../../compliance/masking/mask-served.js';
import { registerAccessControl } from '../../compliance/access/http-access.js';
import { startServerAudit } from './server-audit.js';
import { defaultServerName } from './server-name.js';

export { LOG_LEVELS, type LogLevel } from '../../observability/log.js';

export interface ServerOptions {
  /** How often the server looks for a newly applied registry version. Default 1 s. */
  readonly registryRefreshMs?: number;
  /** Structured (pino) log level. Default `silent`; `sluice serve` defaults to `info`. */
  readonly logLevel?: LogLevel;
  /** Where JSON log lines go. Default stderr. */
  readonly logStream?: { write(line: string): void };
  /** The logger to use (`configureLogging`'s); when given, `logLevel` and `logStream` are not used. */
  readonly logger?: Logger;
  /** Entities one request may ask for; more is a 413 naming the cap. Default 1,000. */
  readonly maxEntitiesPerRequest?: number;
  /** Takes pushed events (`POST /v1/push/{source}`) when given; `describe` answers `GET /v1/streams`. */
  readonly stream?: StreamProcessor;
  readonly describeStreams?: () => unknown;
  /** A push body with no byte for this long is answered 408 (not appended). Default 10 s. */
  readonly pushBodyIdleMs?: number;
  /** A push body not whole this long after its headers, nor by its size at `pushBodyMinBytesPerSecond`, is answered 408 (not appended). Default 60 s. */
  readonly pushBodyTimeoutMs?: number;
  /** The slowest steady sending of a push body allowed past `pushBodyTimeoutMs`. Default 256 KiB/s. */
  readonly pushBodyMinBytesPerSecond?: number;
  /** Where request views' functions come from; default the platform's (the project's `sluice.config.ts`). */
  readonly requestFunctions?: (project: Project) => Promise<RequestFunctions>;
  /** Where `GET /metrics` reads from and serving records to; default a new registry for this server. */
  readonly metrics?: SluiceMetrics;
  /** The serving log's sample rate for services that declare no `log.sampleRate` (see docs/drift.md). Default 0 (off). */
  readonly servingLogRate?: number;
  /**
   * What names this server in its health conditions (`serving_log:<name>`), held while it runs: a
   * live server holding it already is a ConflictError. Default `defaultServerName(listensOn)`.
   * `sluice serve` passes `--server-name` or `$SLUICE_SERVER_NAME`. See `server-name.ts`.
   */
  readonly serverName?: string;
  /** Where the server will listen: with no `serverName`, its name is `<hostname>:<host>:<port>`, and a live server of that name means the address is served (a LISTEN_FAILED error). */
  readonly listensOn?: ListenAddress;
  /** Rows the serving log buffers between flushes before it drops (and counts) them. Default 10,000. */
  readonly servingLogBuffer?: number;
  /** Require API keys even when no key or access rule exists (a server not on loopback). Default false. */
  readonly requireAuth?: boolean;
  /** How long a verified key's record is trusted (the bound on revocation delay). Default 1 s. */
  readonly keyCacheMs?: number;
}

export const DEFAULT_MAX_ENTITIES = 1_000;
const BODY_LIMIT = 8 * 1024 * 1024;

const ABOVE_INFO = new Set(['warn', 'error', 'fatal', 'silent']);
const DEBUG = new Set(['debug', 'trace']);

/** One access line per request at `info` ("request completed", with method, url, status and time); its start only at `debug`. */
class AccessLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!DEBUG.has(request.log.level)) return;
    request.log.debug({ req: { method: request.method, url: request.url } }, 'incoming request');
  }
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Below `info` (as `sluice serve --log-level warn`) a served request builds no line's fields.
    if (!error && ABOVE_INFO.has(request.log.level)) return;
    const fields = { req: { method: request.method, url: request.url }, res: { statusCode: reply.statusCode }, responseTimeMs: reply.elapsedTime };
    if (error) request.log.error({ ...fields, err: error }, 'request errored');
    else request.log.info(fields, 'request completed');
  }
}


/**
 * The HTTP API: `POST /v1/features/online`, `GET /v1/registry`, `GET /health`. Errors are JSON
 * `{"error": {"code", "message"}}` with the status from `ERROR_STATUS`; bad input is always a
 * 4xx, never a 500. Every request has an id (the client's `x-request-id`, or a new one), echoed
 * in the `x-request-id` header and in its log lines. Failures of background work (the registry
 * poll) are logged and retried at the next poll, never fatal.
 *
 * @example
 * const app = await createServer(openPlatform({ projectDir: '.' }), { logLevel: 'info' });
 * await app.listen({ port: 6566 });
 */
export async function createServer(platform: Platform, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance's type the plain one routes use.
    loggerInstance: (options.logger ?? createLogger({ level: options.logLevel ?? 'silent', ...(options.logStream ? { stream: options.logStream } : {}) })) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    logController: new AccessLog({ requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: requestId,
    // No pino child per request until the request logs a line (a served request below info logs none).
    childLoggerFactory: requestLogger,
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply).status(400).send(errorBody('BAD_REQUEST', error.message));
    },
  });
  // What a failed start began (the name's lease, the registry refresh, the audit buffer) stops with the app.
  return addRoutes(app, platform, options).then(
    () => app,
    async (error: unknown) => {
      await app.close().catch((closing: unknown) => app.log.error({ err: closing }, 'closing a server that failed to start failed'));
      throw error;
    },
  );
}

async function addRoutes(app: FastifyInstance, platform: Platform, options: ServerOptions): Promise<void> {
  const maxEntities = options.maxEntitiesPerRequest ?? DEFAULT_MAX_ENTITIES;
  app.setReplySerializer((payload) => stringifyExact(payload));
  registerUtf8JsonParser(app);
  const online = await platform.online();
  let registry: RegistryVersion | undefined = await platform.metadata.latestRegistry();
  // The latest snapshot per source, refreshed with the registry so requests never query SQLite.
  let latest: LatestSnapshots = registry ? await latestSnapshots(platform.metadata, registry.project) : new Map();
  let checkedAt = platform.now();
  // errors: values with status ERROR (a request view's function failed, or a sum past the float64 range).
  const served = { values: 0, stale: 0, errors: 0 };
  let polling = false;
  const poll = async () => {
    await access.refresh();
    const next = await platform.metadata.latestRegistry();
    if (next && next.version !== registry?.version) registry = next;
    if (registry) latest = await latestSnapshots(platform.metadata, registry.project);
    checkedAt = platform.now();
  };
  const refresh = setInterval(() => {
    if (polling) return;
    polling = true;
    poll()
      .catch((error: unknown) => app.log.error({ err: error }, 'registry refresh failed; retrying'))
      .finally(() => (polling = false));
  }, options.registryRefreshMs ?? 1_000);
  refresh.unref();
  app.addHook('onClose', async () => clearInterval(refresh));
  // One span per request when tracing was started before the server (see observability/tracing.ts); no span or hook otherwise.
  const traced = tracingEnabled();
  const spans = new WeakMap<FastifyRequest, Span>();
  // A callback hook, not an async one: no promise per request for one header.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (traced) {
      const span = startRequestSpan(request.method, request.routeOptions.url ?? 'unmatched', request.id, request.headers.traceparent as string | undefined);
      if (span) spans.set(request, span);
    }
    done();
  });
  const server = options.serverName ?? defaultServerName(options.listensOn);
  const serverAudit = startServerAudit(app, platform, server);
  const audit = serverAudit.buffer;
  const access = await registerAccessControl(app, {
    keys: platform.metadata.keys, audit, project: () => registry?.project, now: platform.now,
    ...(options.requireAuth ? { requireAuth: true } : {}), ...(options.keyCacheMs === undefined ? {} : { keyCacheMs: options.keyCacheMs }),
  });
  if (traced) {
    app.addHook('onResponse', (request, reply, done) => {
      endRequestSpan(spans.get(request), reply.statusCode);
      done();
    });
  }

  const project = async (): Promise<Project> => {
    if (registry) return registry.project;
    registry = await platform.metadata.latestRegistry();
    if (!registry) return platform.project();
    return registry.project;
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isSluiceError(error)) {
      return reply.status(ERROR_STATUS[error.code] ?? 500).send(errorBody(error.code, error.message));
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = request.routeOptions.bodyLimit ?? BODY_LIMIT;
      const fewer = request.url.startsWith('/v1/push/') ? 'push fewer events per request' : `send fewer entities per request (at most ${maxEntities})`;
      return reply.status(413).send(errorBody('REQUEST_TOO_LARGE', `the request body is larger than ${limit / 1024 / 1024} MiB; ${fewer}`));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send(errorBody('BAD_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send(errorBody('INTERNAL', 'internal error; see the server log'));
  });

  registerMissingRoutes(app);

  app.get('/health', async () => ({
    status: 'ok', registryVersion: registry?.version ?? null,
    // Values served since start, and how many of them were STALE; as of the last snapshot check.
    served, snapshotsCheckedAt: toIso(checkedAt),
  }));
  app.get('/v1/registry', async () => {
    const p = await project();
    return { version: registry?.version ?? null, appliedAt: registry ? new Date(registry.appliedAt).toISOString() : null, project: p };
  });
  const metrics = options.metrics ?? new SluiceMetrics();
  metrics.addScrapeSource(storeMetrics(platform, project));
  registerDriftMetrics(metrics.registry, platform.metadata);
  metrics.addScrapeSource(qualityMetrics(platform.metadata));
  metrics.addScrapeSource(skewMetrics(platform.metadata));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  // Takes the server's name (refused when a live server holds it); its drops are its own condition (see server-name.ts).
  serverAudit.registerMetrics(metrics.registry);
  const servingLog = await startServerServingLog(app, platform, { ...options, server, registry: metrics.registry });
  serverAudit.nameHeld();
  const recordAudit = serverAudit.classifiedRead;
  // Where a logged large answer's values end in its bytes, for the serving log's copy (used between answerBytes and record, no await between).
  const valueEnds = new RowValueEnds();
  app.post('/v1/features/online', async (request, reply) => {
    const started = performance.now();
    const format = answerFormat(request.query);
    const body = parseOnlineRequest(request.body);
    // The label is a service of the registry or "features" (a feature list): clients cannot grow the label set.
    const service = body.service === undefined ? 'features' : registry?.project.featureServices.some((s) => s.name === body.service) ? body.service : 'unknown';
    const keys = Object.values(body.entities)[0];
    access.checkRead(request, body, Array.isArray(keys) ? keys.length : 0);
    if (traced) spans.get(request)?.setAttributes({ 'sluice.service': service, 'sluice.entity_count': Array.isArray(keys) ? keys.length : 0 });
    try {
      const response = await serveOnline(body, request.log);
      // What the caller may see of classified data (masked, audited); the serving log keeps the clear answer.
      const shown = await maskServedAnswer(platform, recordAudit, registry?.project ?? (await project()), request.principal, body, response, 'http');
      const staleViews = response.stale > 0 ? Object.keys(response.views).filter((v) => response.views[v]!.status === 'STALE') : undefined;
      metrics.recordServing(service, 200, (performance.now() - started) / 1000, response.metadata.map((m) => m.status), staleViews);
      // The project the serving log records this answer under, when its key is sampled.
      const logged = registry && servingLog.samples(registry.project, body, response) ? registry.project : undefined;
      if (format === 'columnar') {
        if (logged) servingLog.record(logged, body, response, request.id, platform.now());
        return columnarAnswer(shown);
      }
      // A logged plain answer (nothing masked): the serving log copies its rows from the answer's own text or bytes.
      const plain = logged !== undefined && shown === response;
      // A large answer is sent as bytes (see answerBytes): the HTTP layer neither measures nor encodes a
      // large string. Decided here, not in the reply serializer: one that inspected every payload measured slower at one entity.
      const large = shown.rows.length > BYTES_FROM_ELEMENTS ? answerBytes(shown, undefined, plain ? valueEnds : undefined) : undefined;
      const text = plain && large === undefined ? answerJson(response) : undefined;
      // A small answer's text itself, not its UTF-8: the writer encodes it (into one reused buffer) only when a row of it is sampled.
      if (logged) servingLog.record(logged, body, response, request.id, platform.now(), !plain ? undefined : (large ?? (text!.plain ? text!.text : undefined)), plain && large !== undefined ? valueEnds : undefined);
      if (large === undefined && text === undefined) return shown;
      void reply.type('application/json; charset=utf-8');
      return large ?? text!.text;
    } catch (error) {
      metrics.recordServing(service, isSluiceError(error) ? (ERROR_STATUS[error.code] ?? 500) : 500, (performance.now() - started) / 1000);
      throw error;
    }
  });
  const serveOnline = async (body: OnlineFeaturesRequest, log: FastifyRequest['log']) => {
    checkEntityCap(body, maxEntities);
    // No await (a microtask turn) once the registry is known: every request but the first.
    const current = registry?.project ?? (await project());
    let firstError: RequestFeatureError | undefined;
    const response = await getOnlineFeaturesSliced(current, online, body, platform.now(), latest, {
      functions: () => (options.requestFunctions ? options.requestFunctions(current) : platform.requestFunctions(current)),
      onRequestError: (error) => (firstError ??= error),
    });
    served.values += response.rows.length * response.features.length;
    served.stale += response.stale;
    if (response.errors) {
      served.errors += response.errors;
      if (firstError) {
        const reason = userErrorReason(firstError.reason, firstError.thrown, () => projectSecret(platform.dataDir));
        log.warn({ errors: response.errors, column: firstError.column, row: firstError.row, reason }, `request view function failed (${response.errors} value(s) with status ERROR in the answer); first: ${firstError.column} of row ${firstError.row}: ${reason}`);
      }
    }
    return response;
  };
  if (options.stream) await registerPushRoute(app, options.stream, options.describeStreams, { idleMs: options.pushBodyIdleMs, timeoutMs: options.pushBodyTimeoutMs, minBytesPerSecond: options.pushBodyMinBytesPerSecond, metrics });
  registerEraseRoute(app, platform, project);
}
