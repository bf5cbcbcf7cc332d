import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TimeoutError } from '../../errors.js';
import type { SluiceMetrics } from '../../observability/metrics.js';
import { OverloadedError, type Reservation, type StreamProcessor } from '../../streaming/stream-processor.js';

export interface PushAdmissionOptions {
  /** The largest push body: a larger declared Content-Length is left to the body limit (413). */
  readonly bodyLimit: number;
  /** A body with no byte for this long is answered 408 and not appended. Default 10 s. */
  readonly idleMs?: number;
  /**
   * The floor of a body's whole-body deadline: a body not whole after the larger of this and its
   * size at `minBytesPerSecond` (its Content-Length, or for a chunked body the bytes received so
   * far) is answered 408 and not appended. Default 60 s.
   */
  readonly timeoutMs?: number;
  /** The slowest steady sending a body's deadline allows past `timeoutMs`. Default {@link PUSH_MIN_BYTES_PER_SECOND}. */
  readonly minBytesPerSecond?: number;
  /** Counts refusals by reason (`sluice_push_refused_total`). */
  readonly metrics?: SluiceMetrics;
}

/**
 * 256 KiB/s (2 Mbit/s): any body up to 15 MiB keeps the 60 s floor, and a client that declares
 * the largest body (32 MiB, half a source's bound) and then trickles holds its room for 128 s at
 * most, about twice the floor, rather than for as long as it likes.
 */
export const PUSH_MIN_BYTES_PER_SECOND = 256 * 1024;

/**
 * Why a push was refused, by its error's code: the label of `sluice_push_refused_total`. Only
 * these are refusals of admission; another failure with the same status (an ADAPTER_FAILED 503)
 * is not counted as one.
 */
const REFUSAL_REASON: Readonly<Record<string, string>> = { OVERLOADED: 'overloaded', REQUEST_TIMED_OUT: 'timed_out', FST_ERR_CTP_BODY_TOO_LARGE: 'too_large', REQUEST_TOO_LARGE: 'too_large' };

/** Sets `Retry-After` on an OverloadedError's answer; returns the error. */
export function withRetryAfter(reply: FastifyReply, error: unknown): unknown {
  if (error instanceof OverloadedError) void reply.header('retry-after', String(error.retryAfterSeconds));
  return error;
}

/**
 * Admission of push bodies to a source's bound (`StreamProcessor.reserve`), in the push route's
 * scope. A body with a Content-Length reserves it before it is read, so bodies past the bound are
 * refused at once, unread; a body without one (chunked) holds only the bytes it has sent, growing
 * as they arrive, so an open body that sends little holds little. Either way a body that stops
 * arriving (`idleMs`) or takes too long as a whole (past `timeoutMs` and below `minBytesPerSecond`, a trickle) is answered 408 with
 * the connection closed, its reservation freed and nothing of it appended: slow or stuck clients
 * cannot hold the source's room from the others. Returns the release, which the route calls once
 * the body joins the processor's queue (which counts it from then on).
 *
 * @example
 * const release = registerPushAdmission(scope, processor, { bodyLimit: 32 * 1024 * 1024 });
 */
export function registerPushAdmission(scope: FastifyInstance, processor: StreamProcessor, options: PushAdmissionOptions): (request: FastifyRequest) => void {
  const reservations = new WeakMap<FastifyRequest, { reservation: Reservation; chunked: boolean; declared?: number; body?: Transform }>();
  const refusals = new WeakMap<FastifyRequest, string>();
  const release = (request: FastifyRequest) => reservations.get(request)?.reservation.release();
  const sourceOf = (request: FastifyRequest) => (request.params as { source: string }).source;
  scope.addHook('onRequest', (request, reply, done) => {
    const declared = Number(request.headers['content-length']);
    const chunked = !(Number.isSafeInteger(declared) && declared >= 0);
    // A body over the limit is refused (413) without being read.
    if (!chunked && declared > options.bodyLimit) return done();
    try {
      reservations.set(request, { reservation: processor.reserve(sourceOf(request), chunked ? 0 : declared), chunked, ...(chunked ? {} : { declared }) });
      done();
    } catch (error) {
      done(withRetryAfter(reply, error) as Error);
    }
  });
  scope.addHook('preParsing', async (request, reply, payload) => {
    const held = reservations.get(request);
    if (!held) return payload;
    held.body = watchBody(payload, sourceOf(request), held.declared, options, (bytes) => {
      if (held.chunked) held.reservation.grow(bytes);
    }, (error) => {
      // The rest of the body is not read: the connection ends with the answer.
      void withRetryAfter(reply, error);
      void reply.header('connection', 'close');
    });
    return held.body;
  });
  scope.addHook('onError', async (request, _reply, error) => {
    const reason = REFUSAL_REASON[error.code];
    if (reason) refusals.set(request, reason);
  });
  scope.addHook('onResponse', async (request) => {
    release(request);
    // Its deadlines end with the answer (a 413 answers before the body's end).
    reservations.get(request)?.body?.destroy();
    const reason = refusals.get(request);
    if (reason && options.metrics && isSource(processor, sourceOf(request))) options.metrics.recordPushRefused(sourceOf(request), reason);
  });
  scope.addHook('onRequestAbort', async (request) => {
    release(request);
    // The client is gone: no deadline is left to answer.
    reservations.get(request)?.body?.destroy();
  });
  return release;
}

/** Whether the processor knows the source (a refusal's metric is labelled only by known sources, not by any name in a URL). */
function isSource(processor: StreamProcessor, name: string): boolean {
  try {
    processor.source(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The body as it arrives: each chunk counted (`arrived` may refuse it), and its idle and whole-body
 * deadlines kept. The whole-body deadline is the larger of `timeoutMs` and the body's size at the
 * minimum rate: its declared size, else (chunked) what has arrived, so it moves on as bytes come
 * and a body kept above the rate never meets it, while one below it does once past the floor.
 */
function watchBody(payload: NodeJS.ReadableStream, source: string, declared: number | undefined, options: PushAdmissionOptions, arrived: (bytes: number) => void, refused: (error: Error) => void): Transform {
  const idleMs = options.idleMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const minRate = options.minBytesPerSecond ?? PUSH_MIN_BYTES_PER_SECOND;
  const start = Date.now();
  let received = 0;
  const allowedMs = () => Math.max(timeoutMs, Math.ceil(((declared ?? received) * 1000) / minRate));
  let timer: NodeJS.Timeout | undefined;
  const fail = (error: Error) => {
    clearTimeout(timer);
    payload.unpipe(watched);
    refused(error);
    watched.destroy(error);
  };
  const arm = () => {
    clearTimeout(timer);
    const deadline = start + allowedMs();
    const idle = idleMs <= deadline - Date.now();
    timer = setTimeout(() => fail(new TimeoutError('REQUEST_TIMED_OUT', idle
      ? `no byte of the push body for source "${source}" arrived for ${idleMs} ms (${received} bytes received); nothing of it was appended: send the body without pauses`
      : `the push body for source "${source}" was not received within ${allowedMs()} ms (${received} bytes received; a body has the larger of ${timeoutMs} ms and its size at ${minRate} bytes/s); nothing of it was appended: push fewer events per request, or from closer to the server`)), Math.max(0, Math.min(idleMs, deadline - Date.now())));
    timer.unref();
  };
  const watched = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      try {
        arrived(chunk.length);
      } catch (error) {
        fail(error as Error);
        return next();
      }
      received += chunk.length;
      arm();
      next(null, chunk);
    },
    flush(next) {
      clearTimeout(timer);
      next();
    },
  });
  watched.on('close', () => clearTimeout(timer));
  arm();
  payload.pipe(watched);
  return watched;
}
