import type { FastifyInstance } from 'fastify';
import type { SluiceContext } from '../../context.js';
import type { Project } from '../../definitions/index.js';
import { ValidationError } from '../../errors.js';
import { eraseSubject } from '../../compliance/erasure/run-erasure.js';
import { ERASURE_AUDIT_PURPOSE } from '../../compliance/erasure/request-erasure.js';
import { reportErasureStatus } from '../../compliance/erasure/erasure-status.js';
import { auditErrorCode } from '../../compliance/audit/audited-action.js';

interface EraseBody {
  readonly entity: string;
  readonly key: readonly string[];
  readonly reason?: string;
  readonly datasets?: 'rewrite' | 'flag';
}

/**
 * A key part of the body as text: a string, or a JSON integer (an int64 key), which is exact
 * only within 2^53 (a JSON reader rounds past it: 9007199254740993 reads as ...992).
 */
function keyPartText(part: unknown, shape: string): string {
  if (typeof part === 'string') return part;
  if (typeof part !== 'number' || !Number.isInteger(part)) throw new ValidationError('BAD_REQUEST', `a key part is a string or an integer; ${shape}`);
  if (!Number.isSafeInteger(part)) throw new ValidationError('BAD_REQUEST', 'a key part given as a JSON number is past 2^53, where JSON numbers are rounded, so it may name another subject: send it as a string ("key": "9007199254740993")');
  return String(part);
}

function parseEraseBody(body: unknown): EraseBody {
  const shape = 'the body must be {"entity": "customer", "key": "c42" (an int64 key as a string, or a JSON integer up to 2^53; ["u1", 45] for a composite key), "reason"?: "...", "datasets"?: "rewrite" | "flag"}';
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('BAD_REQUEST', shape);
  const { entity, key, reason, datasets } = body as Record<string, unknown>;
  const parts: unknown = typeof key === 'string' || typeof key === 'number' ? [key] : key;
  if (typeof entity !== 'string' || !Array.isArray(parts)) throw new ValidationError('BAD_REQUEST', shape);
  if (reason !== undefined && typeof reason !== 'string') throw new ValidationError('BAD_REQUEST', `"reason" must be a string; ${shape}`);
  if (datasets !== undefined && datasets !== 'rewrite' && datasets !== 'flag') throw new ValidationError('BAD_REQUEST', `"datasets" must be "rewrite" or "flag"; ${shape}`);
  return { entity, key: parts.map((p: unknown) => keyPartText(p, shape)), ...(reason === undefined ? {} : { reason }), ...(datasets === undefined ? {} : { datasets }) };
}

/**
 * `POST /v1/erase` with `{"entity": "customer", "key": "c42"}`: the right to erasure, as `sluice
 * erase` does it (the subject blocked, removed from every store), answering with the erasure
 * certificate (200), or 400/404 naming the problem (audited). `GET /v1/erase` lists the requests
 * against their deadline. Both need the admin right `erase` (`allow({ role, admin: ["erase"] })`):
 * 401/403 otherwise, audited by the access control; the request is made as `request.principal`.
 *
 * @example
 * registerEraseRoute(app, platform, project);
 */
export function registerEraseRoute(app: FastifyInstance, ctx: SluiceContext, project: () => Promise<Project>): void {
  const config = { access: { action: 'admin' as const, resource: () => 'erase', audit: 'route:/v1/erase' } };
  app.post('/v1/erase', { config }, async (request) => {
    const { principal } = request;
    let body: EraseBody;
    try {
      body = parseEraseBody(request.body);
    } catch (error) {
      await ctx.metadata.audit.append({ actor: principal.name, action: 'erase.requested', target: 'entity:?', outcome: 'failed', origin: principal.origin, purpose: ERASURE_AUDIT_PURPOSE, details: { error: auditErrorCode(error) } }, ctx.now());
      throw error;
    }
    const { certificate } = await eraseSubject(ctx, await project(), {
      entity: body.entity, key: body.key, principal, ...(body.reason === undefined ? {} : { reason: body.reason }),
    }, body.datasets === undefined ? {} : { datasets: body.datasets });
    return certificate;
  });
  app.get('/v1/erase', { config }, async () => reportErasureStatus(ctx));
}
