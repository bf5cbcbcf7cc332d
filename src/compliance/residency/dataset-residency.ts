import { basename } from 'node:path';
import type { Project } from '../../definitions/index.js';
import { ValidationError } from '../../errors.js';
import type { AuditTrail } from '../../storage/metadata/audit-store.js';
import { enforceResidency } from './enforce-residency.js';

/** Where a dataset build writes, for residency: the declared dataset's name and region, and who builds it. */
export interface DatasetResidency {
  /** The declared dataset's name; default the output file's name. */
  readonly name?: string;
  /** The output's region; default the project's region. */
  readonly region?: string;
  readonly actor?: string;
  readonly origin?: string;
}

/**
 * The residency gate of every dataset build (`buildDataset`): in a project that declares
 * regions, refuses an output whose region differs from a source's it reads without a transfer
 * policy, and records each allowed transfer in the audit trail. A region given to a project
 * that declares none is refused, naming the fix.
 *
 * @example
 * await checkDatasetResidency(ctx, project, { out: 'train.parquet', service: 'fraud', residency: { region: 'us-east-1' } });
 */
export async function checkDatasetResidency(
  ctx: { readonly metadata: { readonly audit: AuditTrail }; now(): number },
  project: Project,
  build: { readonly out: string; readonly service?: string; readonly features?: readonly string[]; readonly residency?: DatasetResidency },
): Promise<void> {
  const wanted = build.residency?.region;
  if (project.region === undefined) {
    if (wanted !== undefined) throw new ValidationError('VALIDATION_FAILED', `dataset region "${wanted}": project "${project.name}" declares no regions; add region: "<its region>" to defineProject and apply, or build without a region`);
    return;
  }
  const dataset = {
    name: build.residency?.name ?? basename(build.out), region: wanted ?? project.region,
    ...(build.service !== undefined ? { service: build.service } : { features: build.features ?? [] }),
  };
  await enforceResidency(ctx.metadata.audit, ctx.now(), project, { actor: build.residency?.actor ?? 'unknown', origin: build.residency?.origin ?? 'local', during: 'dataset.build', recordTransfers: true, dataset });
}
