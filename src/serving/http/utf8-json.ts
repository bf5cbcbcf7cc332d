import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ValidationError } from '../../errors.js';
import { firstInvalidUtf8 } from '../../ingest/scan-file.js';

/**
 * A request body as text, refused (400) when it is not valid UTF-8: decoding would replace the
 * bad bytes with U+FFFD, silently altering a key or a pushed value, where files reject such a
 * row ("never altered"). Nothing of a refused body is used.
 *
 * @example
 * const text = utf8Text(body); // throws BAD_REQUEST naming the byte offset
 */
export function utf8Text(body: Buffer): string {
  const offset = firstInvalidUtf8(body);
  if (offset !== undefined) {
    throw new ValidationError('BAD_REQUEST', `the request body is not valid UTF-8 (an invalid byte sequence at byte offset ${offset}); send JSON encoded as UTF-8`);
  }
  return body.toString('utf8');
}

/**
 * Replaces the app's (or scope's) `application/json` parser with fastify's own (prototype
 * poisoning refused) behind the UTF-8 check of {@link utf8Text}.
 *
 * @example
 * registerUtf8JsonParser(app);
 */
export function registerUtf8JsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8Text(body);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
