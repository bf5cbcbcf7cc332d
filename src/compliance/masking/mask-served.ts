import type { Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../serving/online-features.js';
import type { Principal } from '../principal.js';
import { projectSecret } from '../project-secret.js';
import { auditMaskedRead } from './audit-read.js';
import { maskAnswer } from './mask-answer.js';
import { maskerFor } from './masker.js';
import { maskingCatalog } from './masking-catalog.js';

/**
 * An online answer as `principal` may see it (the server's and `sluice get`'s one path): masked
 * per the project's rules and classification, and, when it holds classified or masked columns,
 * audited (`serve.read`, with each column's method) before it is returned.
 *
 * @example
 * const shown = await maskServedAnswer(ctx, project, principal, request, answer, 'http');
 */
export async function maskServedAnswer(ctx: Pick<SluiceContext, 'metadata' | 'dataDir' | 'now'>, project: Project, principal: Principal, request: OnlineFeaturesRequest, response: OnlineFeaturesResponse, path: 'http' | 'cli'): Promise<OnlineFeaturesResponse> {
  const masker = maskerFor(project, maskingCatalog(project), principal, { secret: () => projectSecret(ctx.dataDir) });
  const { response: shown, evidence } = maskAnswer(masker, project, response);
  if (evidence) {
    await auditMaskedRead(ctx.metadata.audit, principal, ctx.now(), {
      action: 'serve.read', target: request.service === undefined ? 'features' : `service:${request.service}`, path, purpose: 'serving', columns: evidence.columns, rows: response.rows.length,
    });
  }
  return shown;
}
