import type { FastifyInstance } from 'fastify';
import type { StreamProcessor } from '../../streaming/stream-processor.js';
import { registerPushAdmission, withRetryAfter, type PushAdmissionOptions } from './push-admission.js';
import { utf8Text } from './utf8-json.js';
import { ValidationError } from '../../errors.js';

/** Push batches may be larger than feature requests. */
const PUSH_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * `GET /v1/streams`: the live state of every stream source (offsets, lags, connectors,
 * freshness). `POST /v1/push/{source}` with `{"events": [{...}, ...]}`: answers only once the events are
 * durable, `{"accepted": n, "duplicates": d, "rejected": [{"index": i, "reason": "..."}]}`
 * (rejected events are also dead-lettered, once: a repeat is marked `"repeat": true`). The body is handed on as text, so numbers keep
 * every digit. Unknown source: 404; a body that is not `{"events": [...]}` in JSON (NaN,
 * Infinity, trailing commas are not JSON): 400; a compressed body (any `Content-Encoding` but
 * `identity`): 415; Sluice too far
 * behind (the bytes waiting and being received for the source, with this body's, over the
 * processor's bound, or the memory of every batch held, with this body's, over its memory
 * budget): 503 with `Retry-After`; a body that alone costs more than the whole budget: 413; a
 * body that stalls or trickles: 408 (see `registerPushAdmission`).
 *
 * @example
 * await registerPushRoute(app, runtime.processor);
 */
export async function registerPushRoute(app: FastifyInstance, processor: StreamProcessor, describe?: () => unknown, admission: Omit<PushAdmissionOptions, 'bodyLimit'> = {}): Promise<void> {
  if (describe) app.get('/v1/streams', async () => describe());
  await app.register(async (scope) => {
    // Only JSON: another type's parser (text/plain) would decode the body without the UTF-8 check.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: PUSH_BODY_LIMIT }, (request, body: Buffer, done) => {
      try {
        const encoding = request.headers['content-encoding'];
        if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
          throw new ValidationError('UNSUPPORTED_FORMAT', `push bodies are not decompressed: Content-Encoding "${encoding}" is not supported; send the JSON uncompressed`);
        }
        done(null, utf8Text(body));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    const release = registerPushAdmission(scope, processor, { ...admission, bodyLimit: PUSH_BODY_LIMIT });
    scope.post<{ Params: { source: string }; Body: string }>('/v1/push/:source', { bodyLimit: PUSH_BODY_LIMIT }, async (request, reply) => {
      try {
        // The body is now counted by the queue it joins.
        release(request);
        const body = typeof request.body === 'string' ? request.body : '';
        // The processor holds the text until it is decoded, no longer: the request must not keep it until the answer.
        request.body = '';
        return await processor.append(request.params.source, { body }, 'push');
      } catch (error) {
        throw withRetryAfter(reply, error);
      }
    });
  });
}
