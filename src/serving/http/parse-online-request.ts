import { ValidationError } from '../../errors.js';
import type { OnlineFeaturesRequest } from '../online-features.js';

/**
 * The shape of a `POST /v1/features/online` body (a ValidationError naming the fix otherwise);
 * the entity values are checked where they are read.
 *
 * @example
 * const body = parseOnlineRequest({ service: 'fraud', entities: { customer_id: ['c1'] } });
 */
export function parseOnlineRequest(body: unknown): OnlineFeaturesRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('BAD_REQUEST', 'the body must be a JSON object: {"entities": {...}, "service": "..."} or "features": [...]');
  }
  const request = body as OnlineFeaturesRequest;
  if (request.entities === null || typeof request.entities !== 'object' || Array.isArray(request.entities)) {
    throw new ValidationError('BAD_REQUEST', '"entities" must be an object of join key to values, e.g. {"customer_id": ["c1"]}');
  }
  if (request.service !== undefined && typeof request.service !== 'string') throw new ValidationError('BAD_REQUEST', '"service" must be a string');
  if (request.features !== undefined && (!Array.isArray(request.features) || request.features.some((f) => typeof f !== 'string'))) {
    throw new ValidationError('BAD_REQUEST', '"features" must be an array of "view:feature" strings');
  }
  if (request.request !== undefined && (request.request === null || typeof request.request !== 'object' || Array.isArray(request.request))) {
    throw new ValidationError('BAD_REQUEST', '"request" must be an object of request field to values, e.g. {"amount": [12.5]}');
  }
  if (request.service !== undefined && request.features !== undefined) {
    throw new ValidationError('BAD_REQUEST', 'give either "service" or "features", not both');
  }
  // Join keys are looked up by name: only the request's own keys count (a key named "constructor" is not inherited).
  // A copy with a null prototype set after the fact stays a fast object (Object.create(null) is a dictionary: slower to enumerate).
  return { ...request, entities: Object.setPrototypeOf({ ...request.entities }, null) as Record<string, unknown> };
}
