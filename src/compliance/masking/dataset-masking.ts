import type { ColumnType, MaskMethod, Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import type { Principal } from '../principal.js';
import { projectSecret } from '../project-secret.js';
import { auditMaskedRead } from './audit-read.js';
import { maskerFor, type MaskedColumn, type MaskingSession } from './masker.js';
import { maskingCatalog } from './masking-catalog.js';

/** Who a dataset is built for when no one is named (a declared dataset's job, the demo): no role, so the rules for everyone and the defaults apply. */
export const SYSTEM_PRINCIPAL: Principal = { name: 'system', roles: [], origin: 'local' };

/** Masking of one dataset build: SQL per output column, and the evidence it leaves. */
export interface DatasetMasking {
  /** Gives the build's session the hashing key when a column is hashed; returns how to take it away. */
  prepare(session: MaskingSession): Promise<() => Promise<void>>;
  /** Feature `view:feature` over its typed SQL `expr`, masked (the expression itself when clear). */
  feature(view: string, feature: { readonly name: string; readonly valueType: ColumnType }, expr: string): string;
  /** Spine key column `column` (a join key of view `view`'s entity, of type `type`) over `expr`, masked. */
  key(view: string, column: string, type: ColumnType, expr: string): string;
  /** The masked columns and their methods so far (undefined: none), for the manifest and the dataset id. */
  masked(): Readonly<Record<string, MaskMethod>> | undefined;
  /** Records the build in the audit trail when it returned classified or masked columns. */
  audit(datasetId: string, rows: number): Promise<void>;
}

/**
 * The masking of a dataset build for `principal`: the same masker as online answers, as SQL, so
 * a 1M-row build stays set-based in DuckDB and a hashed value equals the one served.
 *
 * @example
 * const masking = datasetMasking(ctx, project, principal);
 * selects.push(`${masking.feature('profile', feature, 'v0.email')} AS profile__email`);
 */
export function datasetMasking(ctx: Pick<SluiceContext, 'metadata' | 'dataDir' | 'now'>, project: Project, principal: Principal, asRoles?: readonly string[]): DatasetMasking {
  const masker = maskerFor(project, maskingCatalog(project), principal, { secret: () => projectSecret(ctx.dataDir), ...(asRoles === undefined ? {} : { asRoles }) });
  const seen = new Map<string, MaskedColumn>();
  const use = (column: MaskedColumn, expr: string): string => {
    if (column.classified || column.method !== 'clear') seen.set(column.name, column);
    return masker.sql(column, expr);
  };
  // Whether any column is hashed is known only once the SQL is generated, after prepare: set the key whenever a rule or classification could hash.
  let prepared = false;
  return {
    async prepare(session) {
      if ((project.masking ?? []).length === 0 && maskingCatalog(project).empty === true) return async () => {};
      prepared = true;
      return masker.prepare(session);
    },
    feature: (view, feature, expr) => use(masker.feature(view, feature.name, feature.valueType), expr),
    key: (view, column, type, expr) => use(masker.key(view, column, type), expr),
    masked() {
      const masked = [...seen.values()].filter((c) => c.method !== 'clear');
      if (masked.length > 0 && masked.some((c) => c.method === 'hash') && !prepared) throw new Error('dataset masking: a column is hashed but the session has no key');
      return masked.length === 0 ? undefined : Object.fromEntries(masked.map((c) => [c.name, c.method]));
    },
    async audit(datasetId, rows) {
      if (seen.size === 0) return;
      await auditMaskedRead((e, at) => ctx.metadata.audit.append(e, at), principal, ctx.now(), {
        target: `dataset:${datasetId}`, path: 'dataset', purpose: 'training', columns: Object.fromEntries([...seen.values()].map((c) => [c.name, c.method])), rows,
      });
    },
  };
}
