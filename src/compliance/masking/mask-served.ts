import type { Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { Principal } from '../principal.js';
import { projectSecret } from '../project-secret.js';
import { auditMaskedRead, type AuditSink } from './audit-read.js';
import { maskAnswer } from './mask-answer.js';
import { maskerFor } from './masker.js';
import { maskingCatalog } from './masking-catalog.js';

/**
 * An online answer as `principal` may see it (the server's and `sluice get`'s one path): masked
 * per the project's rules and classification, and, when it holds classified or masked columns,
 * audited (`classified.read`, with each column's method) before it is returned.
 *
 * @example
 * const shown = await maskServedAnswer(ctx, (e, at) => ctx.metadata.audit.append(e, at), project, principal, request, answer, 'get');
 */
export async function maskServedAnswer(ctx: Pick<SluiceContext, 'dataDir' | 'now'>, audit: AuditSink, project: Project, principal: Principal, request: OnlineFeaturesRequest, response: OnlineFeaturesResponse, path: 'http' | 'get'): Promise<OnlineFeaturesResponse> {
  const catalog = maskingCatalog(project);
  // Nothing classified and no masking rule: every column is clear and unclassified, so nothing is masked or audited.
  if (catalog.empty === true && (project.masking?.length ?? 0) === 0) return response;
  const masker = maskerFor(project, catalog, principal, { secret: () => projectSecret(ctx.dataDir) });
  const { response: shown, evidence } = maskAnswer(masker, project, response);
  if (evidence) {
    await auditMaskedRead(audit, principal, ctx.now(), {
      target: request.service === undefined ? 'features' : `service:${request.service}`, path, purpose: 'serving', columns: evidence.columns, rows: response.rows.length,
    });
  }
  return shown;
}
