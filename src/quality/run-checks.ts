import type { SluiceContext } from '../context.js';
import type { Check, Schema } from '../definitions/index.js';
import { ValidationError } from '../errors.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import type { Condition } from '../storage/metadata/health-store.js';
import type { QuarantinedBatch } from '../storage/metadata/quality-store.js';
import { evaluateChecks, type BatchProfile, type CheckResult } from './evaluate-checks.js';

/** A dataset that declares checks: a source (or a transform's table), or a feature view. */
export interface CheckedDataset {
  readonly name: string;
  readonly schema: Schema;
  readonly checks?: readonly Check[];
}

/** A batch's check results, what of them blocks it, and its profile (for lineage facets). */
export interface BatchVerdict {
  readonly results: readonly CheckResult[];
  /** Failing `error` checks: the batch must not be committed. */
  readonly blocking: readonly CheckResult[];
  readonly profile: BatchProfile;
  /** The checks evaluated, in the order of `results`. */
  readonly checks: readonly Check[];
}

/** The health subject of a check: `check:<dataset>/<check>`. */
export const checkSubject = (dataset: string, check: string): string => `check:${dataset}/${check}`;

/** The subjects (`checkSubject`) of every check the project declares, on its sources and feature views. */
export function declaredCheckSubjects(project: { readonly sources: readonly CheckedDataset[]; readonly featureViews: readonly { readonly name: string; readonly checks?: readonly Check[] }[] }): Set<string> {
  return new Set([...project.sources, ...project.featureViews].flatMap((d) => (d.checks ?? []).map((c) => checkSubject(d.name, c.name))));
}

/**
 * Evaluates a dataset's checks on a batch (`relation`: SQL of its typed rows) in one scan; see
 * `evaluateChecks`. Undefined when the dataset declares none (nothing is read). `classified`:
 * the columns whose values samples show as `[classified]`, from the classification catalog
 * (`classifiedColumns` for a source or transform table, `classifiedFeatureColumns` for a view),
 * so classification inherited through lineage is applied too.
 *
 * @example
 * const verdict = await checkBatch(engine, source, 'SELECT * FROM batch', { now: ctx.now(), classified: classifiedColumns(project, source.name) });
 */
export async function checkBatch(engine: SqlEngine, dataset: CheckedDataset, relation: string, options: { readonly now: number; readonly observedColumns?: Readonly<Record<string, string | null>>; readonly classified: ReadonlySet<string> }): Promise<BatchVerdict | undefined> {
  if ((dataset.checks ?? []).length === 0) return undefined;
  const { results, profile } = await evaluateChecks(engine, { dataset: dataset.name, schema: dataset.schema, checks: dataset.checks!, classified: options.classified }, relation, options);
  return { results, profile, checks: dataset.checks!, blocking: results.filter((r) => !r.passed && r.severity === 'error') };
}

/**
 * Records a batch's results (the history `sluice checks` reads) and reports each check as a
 * health condition: firing while it fails (with its severity), cleared when it passes, so a
 * failing check alerts once and resolves once. The condition carries how many samples the result
 * kept (`details.sampleCount`), not the samples: they are rows' values, which `sluice checks
 * --samples` shows to whom may see them; a condition goes to every holder of the status right
 * and to alert channels.
 */
export async function recordVerdict(ctx: SluiceContext, verdict: BatchVerdict, context: { readonly quarantineId?: number } = {}): Promise<void> {
  const at = ctx.now();
  await ctx.metadata.quality.recordResults(verdict.results, { evaluatedAt: at, quarantineId: context.quarantineId ?? null });
  for (const r of verdict.results) {
    const held = context.quarantineId !== undefined && !r.passed && r.severity === 'error' ? `; the batch is quarantined as ${context.quarantineId} (sluice quarantine)` : '';
    await ctx.metadata.health.report({
      kind: 'check_failed', subject: checkSubject(r.dataset, r.check), firing: !r.passed, severity: r.severity,
      message: r.passed ? `check "${r.check}" on "${r.dataset}" passes: ${r.message}` : `check "${r.check}" on "${r.dataset}" fails: ${r.message}${held}`,
      // No samples: a condition is read with the status right and sent to alert channels, samples need the values right (`sluice checks --samples`).
      details: { dataset: r.dataset, check: r.check, failingRows: r.failingRows, totalRows: r.totalRows, observedFraction: r.observedFraction, sampleCount: r.samples.length, ...(held ? { quarantineId: context.quarantineId } : {}) },
    }, at);
  }
}

/**
 * The quarantined batch a `job_failed` condition says its run failed on: `details.quarantineId`,
 * or, for a condition written before it carried one (before 2026-11-30 evening), the batch its error
 * names (`quarantined as 4`, `held in quarantine as batch 4`): migrated on read, so a release or
 * drop ends it too. Undefined when it names none.
 */
function heldBatchOf(c: Condition): number | undefined {
  if (typeof c.details?.quarantineId === 'number') return c.details.quarantineId;
  const text = typeof c.details?.error === 'string' ? c.details.error : c.message;
  const named = /\bquarantined as (\d+)\b|\bheld in quarantine as batch (\d+)\b/.exec(text);
  return named === null ? undefined : Number(named[1] ?? named[2]);
}

/**
 * Ends the `check_failed` conditions that name a quarantined batch (its failing `error` checks,
 * reported with `details.quarantineId`) once it is released or dropped: the problem they stated
 * ("the batch is quarantined as 4") is settled by a person. A condition that names a later
 * batch, and warnings (which held nothing), are left as they are.
 */
export async function endHeldConditions(ctx: SluiceContext, batch: QuarantinedBatch, outcome: string): Promise<void> {
  const subjects = new Set(batch.results.map((r) => checkSubject(batch.dataset, r.check)));
  const holds = (c: Condition | undefined): c is Condition => c !== undefined && c.firing && c.details?.quarantineId === batch.id;
  const resolution = { resolution: batch.status, resolvedBy: batch.resolvedBy };
  for (const seen of await ctx.metadata.health.list({ kind: 'check_failed', firing: true })) {
    if (!subjects.has(seen.subject) || !holds(seen)) continue;
    // Checked again in the transaction that ends it: a later batch's failure reported meanwhile stays.
    await ctx.metadata.health.update(seen.kind, seen.subject, (c) => (!holds(c) ? undefined : {
      firing: false, severity: c.severity, details: { ...c.details, ...resolution },
      message: `check "${String(c.details?.check)}" on "${batch.dataset}": quarantined batch ${batch.id} was ${batch.status} by ${batch.resolvedBy} (${outcome})`,
    }), ctx.now());
  }
  // A job that failed on the batch (held it, or met its content held) failed for nothing else.
  const failedOn = (c: Condition | undefined): c is Condition => c !== undefined && c.firing && heldBatchOf(c) === batch.id;
  for (const seen of await ctx.metadata.health.list({ kind: 'job_failed', firing: true })) {
    if (!failedOn(seen)) continue;
    await ctx.metadata.health.update(seen.kind, seen.subject, (c) => (!failedOn(c) ? undefined : {
      firing: false, severity: c.severity, details: { ...c.details, quarantineId: batch.id, ...resolution },
      message: `${c.subject.slice(4)}: quarantined batch ${batch.id} was ${batch.status} by ${batch.resolvedBy} (${outcome}); the job's next run takes the files after it`,
    }), ctx.now());
  }
}

/** The error a blocked batch fails its run with: which checks, what they found, and where the batch is held. */
export function checksFailedError(dataset: string, verdict: BatchVerdict, held: string, quarantineId?: number): ValidationError {
  const list = verdict.blocking.map((r) => `"${r.check}" (${r.message})`).join('; ');
  return new ValidationError('VALIDATION_FAILED', `"${dataset}": ${verdict.blocking.length === 1 ? 'error check' : 'error checks'} ${list} failed; ${held}`, {
    // The whole verdict too, so the run's FAIL lineage event carries the assertions and metrics.
    details: { dataset, checks: verdict.blocking.map((r) => ({ check: r.check, message: r.message, failingRows: r.failingRows, samples: r.samples })), ...verdictStats(verdict), ...(quarantineId !== undefined ? { quarantineId } : {}) },
    // A quarantined batch is held until a person releases or drops it: a retry would meet it held.
    ...(quarantineId !== undefined ? { retryable: false as const } : {}),
  });
}

/** A compact form of results for run history and lineage events. */
export function verdictStats(verdict: BatchVerdict | undefined): Record<string, unknown> {
  if (!verdict) return {};
  return {
    checks: verdict.results.map((r, i) => ({
      check: r.check, kind: r.kind, severity: r.severity, passed: r.passed, failingRows: r.failingRows, message: r.message,
      ...(verdict.checks[i]?.columns.length === 1 ? { column: verdict.checks[i]!.columns[0] } : {}),
    })),
    profile: verdict.profile,
  };
}
