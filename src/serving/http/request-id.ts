import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What a client's `x-request-id` may be: visible ASCII, at most 128 characters. */
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * A request's id: the client's `x-request-id` when it is a plain token (visible ASCII, at most
 * 128 characters), else a new UUID. The id is echoed in a response header and written on every
 * log line of the request, so a value with control characters (which Node refuses in a header:
 * a 500) or a huge one (copied into every line) is never used.
 *
 * @example
 * Fastify({ requestIdHeader: false, genReqId: requestId });
 */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}
