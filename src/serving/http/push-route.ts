import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamProcessor } from '../../streaming/stream-processor.js';
import { OverloadedError } from '../../streaming/stream-processor.js';
import { utf8Text } from './utf8-json.js';

/** Push batches may be larger than feature requests. */
const PUSH_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * `GET /v1/streams`: the live state of every stream source (offsets, lags, connectors,
 * freshness). `POST /v1/push/{source}` with `{"events": [{...}, ...]}`: answers only once the events are
 * durable, `{"accepted": n, "duplicates": d, "rejected": [{"index": i, "reason": "..."}]}`
 * (rejected events are also dead-lettered). The body is handed on as text, so numbers keep
 * every digit. Unknown source: 404; a body that is not `{"events": [...]}`: 400; Sluice too far
 * behind (the bytes waiting and being received for the source, with this body's Content-Length,
 * over the processor's bound): 503 with `Retry-After`, decided before the body is read.
 *
 * @example
 * await registerPushRoute(app, runtime.processor);
 */
export async function registerPushRoute(app: FastifyInstance, processor: StreamProcessor, describe?: () => unknown): Promise<void> {
  if (describe) app.get('/v1/streams', async () => describe());
  await app.register(async (scope) => {
    // Only JSON: another type's parser (text/plain) would decode the body without the UTF-8 check.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: PUSH_BODY_LIMIT }, (_request, body: Buffer, done) => {
      try {
        done(null, utf8Text(body));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    const overloaded = (reply: FastifyReply, error: unknown): unknown => {
      if (error instanceof OverloadedError) void reply.header('retry-after', String(error.retryAfterSeconds));
      return error;
    };
    // Room for a body is reserved by its Content-Length before it is read (a body without one
    // reserves the most a body may be): bodies are refused at once, unread, when the source's
    // bound would be passed, so memory does not grow with how many arrive together.
    const releases = new WeakMap<FastifyRequest, () => void>();
    const release = (request: FastifyRequest) => releases.get(request)?.();
    scope.addHook('onRequest', (request, reply, done) => {
      const declared = Number(request.headers['content-length']);
      const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : PUSH_BODY_LIMIT;
      // A body over the limit is refused (413) without being read.
      if (bytes > PUSH_BODY_LIMIT) return done();
      try {
        releases.set(request, processor.reserve((request.params as { source: string }).source, bytes));
        done();
      } catch (error) {
        done(overloaded(reply, error) as Error);
      }
    });
    scope.addHook('onResponse', async (request) => release(request));
    scope.addHook('onRequestAbort', async (request) => release(request));
    scope.post<{ Params: { source: string }; Body: string }>('/v1/push/:source', { bodyLimit: PUSH_BODY_LIMIT }, async (request, reply) => {
      try {
        // The body is now counted by the queue it joins.
        release(request);
        return await processor.append(request.params.source, { body: typeof request.body === 'string' ? request.body : '' }, 'push');
      } catch (error) {
        throw overloaded(reply, error);
      }
    });
  });
}
