import { auditErrorCode } from '../audit/audited-action.js';
import type { SluiceContext } from '../../context.js';
import { didYouMean, entityKey, type Entity, type Project } from '../../definitions/index.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { ErasureRequest } from '../../storage/metadata/erasure-store.js';
import type { Principal } from '../principal.js';
import { projectSecret } from '../project-secret.js';
import { erasureDeadline } from './erasure-deadline.js';
import { erasureHash } from './erasure-hash.js';
import { subjectKeyParts } from './subject-key-parts.js';

/** The purpose erasure records carry in the audit trail. */
export const ERASURE_AUDIT_PURPOSE = 'gdpr-art17';

/** Who wants which subject erased: the entity, its key (one part per join key, in order), why. */
export interface ErasureAsk {
  readonly entity: string;
  readonly key: readonly string[];
  readonly reason?: string;
  readonly principal: Principal;
}

/** A validated subject: its entity, its key as `entityKey` encodes it, and its keyed hash. */
export interface ErasureSubject {
  readonly entity: Entity;
  /** The key's parts, one per join key, as the stores hold them (an int64 part in canonical decimal: see `subjectKeyParts`). */
  readonly parts: readonly string[];
  readonly key: string;
  readonly hash: string;
}

/** Whether `text` holds `part` as a whole word (case-insensitive): "ticket 4217" does not quote the key "42". */
function quotes(text: string, part: string): boolean {
  const escaped = part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'iu').test(text);
}

function subjectOf(project: Project, dataDir: string, ask: ErasureAsk): ErasureSubject {
  const entity = project.entities.find((e) => e.name === ask.entity);
  if (!entity) {
    throw new NotFoundError('NOT_FOUND', `entity "${ask.entity}" is not in the registry${didYouMean(ask.entity, project.entities.map((e) => e.name))}; name one of the applied project's entities (${project.entities.map((e) => e.name).join(', ')})`);
  }
  if (ask.key.length !== entity.joinKeys.length || ask.key.some((part) => part === '')) {
    throw new ValidationError('VALIDATION_FAILED', `entity "${entity.name}" has the join key${entity.joinKeys.length > 1 ? 's' : ''} ${entity.joinKeys.join(', ')}: give ${entity.joinKeys.length === 1 ? 'one non-empty key' : `${entity.joinKeys.length} non-empty key parts in that order (--key once per part)`}, got ${ask.key.length}`);
  }
  const parts = subjectKeyParts(project, entity, ask.key);
  if (ask.reason !== undefined && [...ask.key, ...parts].some((part) => quotes(ask.reason!, part))) {
    throw new ValidationError('VALIDATION_FAILED', 'the reason quotes the subject\'s key; the audit trail is append-only and would keep it forever: describe the request without the key (for example a ticket number)');
  }
  const key = entityKey(parts);
  return { entity, parts, key, hash: erasureHash(projectSecret(dataDir), entity.name, key) };
}

/**
 * Records a right-to-erasure request and blocks its subject on every way in at once (the block
 * list is in the same transaction), before anything is removed. The request and the audit record
 * (`erase.requested`) hold the subject only as its keyed hash; the deadline is one month from
 * receipt (GDPR Art. 12(3)). Asking again while the subject's request is pending returns it.
 * The key is read by its columns' types (`subjectKeyParts`: `042` is the int64 42). A refusal
 * (unknown entity, wrong key shape, a key part no value of its column's type, a reason that
 * quotes the key) is audited too, by its error code.
 *
 * @example
 * const { request, subject } = await requestErasure(ctx, project, { entity: 'customer', key: ['c42'], principal });
 */
export async function requestErasure(ctx: SluiceContext, project: Project, ask: ErasureAsk): Promise<{ request: ErasureRequest; created: boolean; subject: ErasureSubject }> {
  const now = ctx.now();
  const evidence = { actor: ask.principal.name, action: 'erase.requested', target: `entity:${ask.entity}`, origin: ask.principal.origin, purpose: ERASURE_AUDIT_PURPOSE };
  let subject: ErasureSubject;
  try {
    subject = subjectOf(project, ctx.dataDir, ask);
  } catch (error) {
    await ctx.metadata.audit.append({ ...evidence, outcome: 'failed', details: { error: auditErrorCode(error) } }, now);
    throw error;
  }
  const { request, created } = await ctx.metadata.erasure.request({
    entity: subject.entity.name, subject: subject.hash, ...(ask.reason === undefined ? {} : { reason: ask.reason }),
    requestedBy: ask.principal.name, receivedAt: now, deadlineAt: erasureDeadline(now),
  });
  if (created) {
    await ctx.metadata.audit.append({ ...evidence, outcome: 'succeeded', details: { request: request.id, subject: subject.hash, deadline: new Date(request.deadlineAt).toISOString(), ...(ask.reason === undefined ? {} : { reason: ask.reason }) } }, now);
  }
  return { request, created, subject };
}
