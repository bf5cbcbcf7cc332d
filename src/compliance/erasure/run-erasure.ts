import { auditErrorCode } from '../audit/audited-action.js';
import { leaseWaitStopped, withLease } from '../../orchestration/lease.js';
import { testPause } from '../../orchestration/test-pause.js';
import type { SluiceContext } from '../../context.js';
import { InterruptedError, stoppedBy } from '../../errors.js';
import { entityKey, isStreamed, type Project } from '../../definitions/index.js';
import { derivedTables, finishPendingDeletions, purgeRows, scrubRemovedBytes, type PurgeReport } from '../purge/index.js';
import type { Principal } from '../principal.js';
import type { ErasureRequest } from '../../storage/metadata/erasure-store.js';
import { subjectKeys } from './erased-rows.js';
import { keyValuedFeatures } from '../classification/key-valued-features.js';
import { keyCarryingColumns } from '../classification/key-carrying-columns.js';
import { ERASURE_AUDIT_PURPOSE, requestErasure, type ErasureAsk, type ErasureSubject } from './request-erasure.js';
import { reportErasureStatus } from './erasure-status.js';

/** One store's part of an erasure certificate. */
export interface ErasedStore {
  /** `lake:<source>`, `online:<view>`, `dead-letters:<source>`, `log:<source>`, `serving-log`, `quarantine:<source>`, `dataset:<id>`, `metadata`. */
  readonly store: string;
  readonly rows: number;
  readonly bytes: number;
  readonly filesRewritten: number;
  readonly snapshotsRewritten: number;
  /** A dataset kept as it is under the `flag` policy: it still holds the subject. */
  readonly tainted?: boolean;
  /** Of `rows`, rows of other entities removed because a feature's value was the subject's key (or a list held it); absent when none. */
  readonly byValue?: number;
}

/**
 * The evidence of one completed erasure: what was removed where, how many rows and bytes, when.
 * It names the subject only by its keyed hash. Stored with the request, in the audit trail
 * (`erase.completed`) and printed by `sluice erase`.
 */
export interface ErasureCertificate {
  readonly request: string;
  readonly entity: string;
  /** The subject's keyed hash: the block list holds it from `receivedAt` on. */
  readonly subject: string;
  readonly requestedBy: string;
  readonly performedBy: string;
  readonly receivedAt: string;
  readonly deadline: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly durationMs: number;
  readonly withinDeadline: boolean;
  /** The sources searched: every source and transform whose rows carry the entity's key. */
  readonly sources: readonly string[];
  /**
   * The features (`<view>.<feature>`) whose value may be the subject's key, by column lineage
   * (`keyValuedFeatures`): served rows and dataset rows of any entity where one of them held the
   * key (as its value or in its list) were removed too, counted in the stores' `byValue`.
   */
  readonly keyValuedFeatures: readonly string[];
  /**
   * The columns (`<table>.<column>`) searched for the subject's key by column lineage
   * (`keyCarryingColumns`): the entity's key column, and transform columns that pass it through
   * under another name (`customer_id AS payer`); a row holding the key in one was removed whole.
   * Absent in certificates stored before 2026-12-01.
   */
  readonly keyColumns?: readonly string[];
  /**
   * Transform columns computed from the key by an expression (`upper(customer_id)`), or of a
   * transform whose lineage was not parsed: rows where one held the key as it is were removed, but
   * one may hold it in another form that no match by value finds. `sluice erase` prints a warning
   * naming them; empty when none. Absent in certificates stored before 2026-12-01.
   */
  readonly unsureKeyColumns?: readonly string[];
  readonly stores: readonly ErasedStore[];
  readonly rows: number;
  readonly bytes: number;
  /** Whether deleted bytes were also cleared from the metadata database's free pages and log. */
  readonly metadataExpunged: boolean;
  readonly datasets: 'rewrite' | 'flag';
  /**
   * LMDB stores whose removed bytes are not yet cleared (another process, such as a running
   * server, has them open), each with the reason and when it will be; empty when every store was compacted.
   */
  readonly scrubPending: readonly { readonly store: string; readonly reason: string }[];
  /**
   * Lake files an earlier, crashed run (of this or another purge of the same sources) had swapped
   * out of every snapshot but not deleted: they still held removed rows, and this run deleted them
   * before completing. 0 when no run had crashed between its swap and its deletion.
   */
  readonly leftoverFiles: number;
  /**
   * Earlier runs of the request that stopped or failed once started (their `erase.completed` records, `failed`):
   * when, the step a stop met (`purge`'s steps, `scrub`), and what each had removed (its
   * purges' `purge.run` records count their rows too). Absent when none did.
   */
  readonly resumed?: readonly { readonly at: string; readonly error: string; readonly stoppedIn: string | null; readonly stores: readonly unknown[] }[];
}

/** The failed runs of a request, from their audit records (see `ErasureCertificate.resumed`). */
async function failedRuns(ctx: SluiceContext, request: ErasureRequest): Promise<NonNullable<ErasureCertificate['resumed']>> {
  const records = await ctx.metadata.audit.list({ action: 'erase.completed', since: request.receivedAt });
  return records.filter((r) => r.outcome === 'failed' && r.details?.request === request.id && r.details.started !== false).map((r) => ({
    at: new Date(r.at).toISOString(), error: String(r.details!.error), stoppedIn: typeof r.details!.stoppedIn === 'string' ? r.details!.stoppedIn : null,
    stores: Array.isArray(r.details!.stores) ? (r.details!.stores as unknown[]) : [],
  }));
}

export interface EraseOptions {
  /** Training datasets that hold the subject: `rewrite` (default) or `flag` (kept, listed as tainted). */
  readonly datasets?: 'rewrite' | 'flag';
  /**
   * Stops it (a signal): the purge running fails as interrupted (`PurgeRequest.signal`), as does the
   * removal from the durable log before its next source and the scrub before its next store; the request
   * stays failed (blocked) until run again. Stopped while it waits for a lease before it removed
   * anything (another run of the request, a purge or a materialize of the same tables), it stops at
   * once and the request stays as it was (pending), audited as not started.
   */
  readonly signal?: AbortSignal;
}

/** The sources to purge: those whose rows carry the entity's key, less those a purge reaches as derived tables of another. */
export function erasureSources(project: Project, entity: string): string[] {
  const keyed = project.sources.filter((s) => subjectKeys(project, s).some((k) => k.entity === entity)).map((s) => s.name);
  const derived = new Set(keyed.flatMap((name) => derivedTables(project, name).slice(1).map((t) => t.name)));
  return keyed.filter((name) => !derived.has(name));
}

const toStore = (s: PurgeReport['stores'][number]): ErasedStore => ({
  store: s.store, rows: s.rows, bytes: s.bytes, filesRewritten: s.filesRewritten.length, snapshotsRewritten: s.snapshots?.length ?? 0, ...(s.tainted ? { tainted: true } : {}), ...(s.byValue ? { byValue: s.byValue } : {}),
});

/**
 * Whether an event's text (a JSON object, or the raw text of a rejected one) names the subject:
 * its key columns form the key; text that is not a JSON object names it if it holds every key part.
 */
function namesSubject(text: string, columns: readonly string[], parts: readonly string[], key: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parts.every((p) => text.includes(p));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return parts.every((p) => text.includes(p));
  const found = columns.map((c) => (value as Record<string, unknown>)[c]);
  if (found.some((v) => typeof v !== 'string' && typeof v !== 'number')) return false;
  return entityKey(found as (string | number)[]) === key;
}

/**
 * Removes the subject's events from the durable log of every streamed source that carries its
 * key, a transaction per source, each store pushed onto `stores` once removed. A stop (`signal`)
 * is met before each source's rewrite (a rewrite is one transaction, never cut): it fails as
 * interrupted (step `log`, the source it stopped before and those left), what it removed stays
 * removed, and the next run of the request removes the rest.
 */
async function eraseFromLog(ctx: SluiceContext, project: Project, subject: ErasureSubject, stores: ErasedStore[], signal: AbortSignal | undefined): Promise<void> {
  const streamed = project.sources.filter(isStreamed).flatMap((s) => subjectKeys(project, s).filter((k) => k.entity === subject.entity.name).map((k) => ({ source: s.name, columns: k.columns })));
  if (streamed.length === 0) return;
  const log = await ctx.log();
  const parts = subject.parts;
  for (const [i, { source, columns }] of streamed.entries()) {
    if (signal?.aborted) {
      const left = streamed.slice(i).map((s) => s.source);
      throw stoppedBy(signal, (why) => `the removal of the erased subject from the durable event log stopped before source "${source}": ${why}; what it removed stays removed, and running sluice erase of the same key again finishes it`, { step: 'log', source, left });
    }
    const { events, bytes } = await log.removeEvents(source, (text) => namesSubject(text, columns, parts, subject.key));
    stores.push({ store: `log:${source}`, rows: events, bytes, filesRewritten: 0, snapshotsRewritten: 0 });
    await testPause(`erase.log:${source}`);
  }
}

/**
 * Removes an erased subject from every store (`purgeRows` per source that carries the entity's
 * key, which covers transforms derived from it; the durable log of streamed sources), clears the
 * removed bytes from the stores' free pages (LMDB online store and log, SQLite metadata),
 * finishes the lake deletions a crashed run left (the certificate's `leftoverFiles`; the store
 * refuses to complete a request with deletions pending), completes the request with its certificate and appends it to the audit trail
 * (`erase.completed`). A failure leaves the request `failed` (still blocked) and audited; running
 * it again finishes it. Returns the certificate.
 */
export async function runErasure(ctx: SluiceContext, project: Project, request: ErasureRequest, subject: ErasureSubject, principal: Principal, options: EraseOptions = {}): Promise<ErasureCertificate> {
  let entered = false;
  // One run per request at a time: a second ask of the subject (another process, or the API)
  // waits for the first and returns its certificate, so a request never gets two.
  return withLease(ctx.metadata, `erase:${request.id}`, { waitMs: 600_000, purpose: `erasure request ${request.id}`, ...(options.signal === undefined ? {} : { signal: options.signal }) }, async () => {
    entered = true;
    const current = await ctx.metadata.erasure.get(request.id);
    if (current?.status === 'completed' && current.certificate !== null) return current.certificate as unknown as ErasureCertificate;
    return eraseNow(ctx, project, request, subject, principal, options);
  }).catch(async (error: unknown) => {
    if (!entered && leaseWaitStopped(error)) await auditNotStarted(ctx, request, subject, principal, error);
    throw error;
  });
}

const erasureEvidence = (subject: ErasureSubject, principal: Principal) => ({ actor: principal.name, target: `entity:${subject.entity.name}`, origin: principal.origin, purpose: ERASURE_AUDIT_PURPOSE });

/** A run stopped while it waited for a lease, before it removed anything: the request stays as it was; the audit trail says the run did not start. */
async function auditNotStarted(ctx: SluiceContext, request: ErasureRequest, subject: ErasureSubject, principal: Principal, error: unknown): Promise<void> {
  const status = (await ctx.metadata.erasure.get(request.id))?.status ?? request.status;
  await ctx.metadata.audit.append({ ...erasureEvidence(subject, principal), action: 'erase.completed', outcome: 'failed', details: { request: request.id, subject: subject.hash, error: auditErrorCode(error), started: false, status } }, ctx.now());
}

async function eraseNow(ctx: SluiceContext, project: Project, request: ErasureRequest, subject: ErasureSubject, principal: Principal, options: EraseOptions): Promise<ErasureCertificate> {
  const started = ctx.now();
  const datasets = options.datasets ?? 'rewrite';
  const sources = erasureSources(project, subject.entity.name);
  const evidence = erasureEvidence(subject, principal);
  const stores: ErasedStore[] = [];
  try {
    let leftoverFiles = 0;
    for (const source of sources) {
      const report = await purgeRows(ctx, project, { source, match: { kind: 'keys', entity: subject.entity.name, keys: [subject.key] }, reason: 'erasure', principal, purpose: ERASURE_AUDIT_PURPOSE, datasets, owner: request.id, ...(options.signal === undefined ? {} : { signal: options.signal }) });
      stores.push(...report.stores.map(toStore));
      leftoverFiles += report.leftoverFiles.length;
      await testPause('erase.purged');
    }
    // Anything of this request still pending (a source no longer searched, say) goes before it may complete.
    leftoverFiles += (await finishPendingDeletions(ctx, { owner: request.id })).length;
    await eraseFromLog(ctx, project, subject, stores, options.signal);
    await testPause('erase.log-removed');
    // Removed records must not linger in free pages: LMDB stores are scrubbed, SQLite's log reset.
    const { scrubPending, metadataExpunged: complete } = await scrubRemovedBytes(ctx, project, options.signal);
    await testPause('erase.scrubbed');
    const resumed = await failedRuns(ctx, request);
    const carrying = [...keyCarryingColumns(project, subject.entity.name)];
    const completedAt = ctx.now();
    const certificate: ErasureCertificate = {
      request: request.id, entity: subject.entity.name, subject: subject.hash, requestedBy: request.requestedBy, performedBy: principal.name,
      receivedAt: new Date(request.receivedAt).toISOString(), deadline: new Date(request.deadlineAt).toISOString(),
      startedAt: new Date(started).toISOString(), completedAt: new Date(completedAt).toISOString(), durationMs: completedAt - started,
      withinDeadline: completedAt <= request.deadlineAt, sources, keyValuedFeatures: keyValuedFeatures(project, subject.entity.name).map((f) => `${f.view}.${f.feature}`),
      keyColumns: carrying.flatMap(([table, c]) => c.exact.map((x) => `${table}.${x}`)), unsureKeyColumns: carrying.flatMap(([table, c]) => c.unsure.map((x) => `${table}.${x}`)), stores,
      rows: stores.reduce((n, s) => n + s.rows, 0), bytes: stores.reduce((n, s) => n + s.bytes, 0), metadataExpunged: complete, datasets, scrubPending, leftoverFiles,
      ...(resumed.length === 0 ? {} : { resumed }),
    };
    await ctx.metadata.erasure.finish(request.id, { status: 'completed', at: completedAt, certificate: { ...certificate } });
    await ctx.metadata.audit.append({ ...evidence, action: 'erase.completed', outcome: 'succeeded', details: { ...certificate } }, completedAt);
    return certificate;
  } catch (error) {
    // Stopped while its first purge waited for a lease (another purge, a materialize): nothing is removed, nothing to finish.
    if (stores.length === 0 && leaseWaitStopped(error)) {
      await auditNotStarted(ctx, request, subject, principal, error);
      throw error;
    }
    const at = ctx.now();
    await ctx.metadata.erasure.finish(request.id, { status: 'failed', at, error: auditErrorCode(error) });
    // What this run removed (its purges' own records hold theirs; the log's events only this) and the step it stopped in.
    const stoppedIn = error instanceof InterruptedError && typeof error.details?.step === 'string' ? { stoppedIn: error.details.step } : {};
    await ctx.metadata.audit.append({ ...evidence, action: 'erase.completed', outcome: 'failed', details: { request: request.id, subject: subject.hash, error: auditErrorCode(error), ...stoppedIn, stores: stores.map((s) => ({ store: s.store, rows: s.rows, bytes: s.bytes })) } }, at);
    throw error;
  } finally {
    await reportErasureStatus(ctx);
  }
}

/**
 * The right to erasure in one call (`sluice erase`, `POST /v1/erase`): records the request and
 * blocks the subject (`requestErasure`), then removes it everywhere (`runErasure`).
 *
 * @example
 * const { certificate } = await eraseSubject(platform, project, { entity: 'customer', key: ['c42'], principal });
 */
export async function eraseSubject(ctx: SluiceContext, project: Project, ask: ErasureAsk, options: EraseOptions = {}): Promise<{ request: ErasureRequest; certificate: ErasureCertificate }> {
  const { request, subject } = await requestErasure(ctx, project, ask);
  const certificate = await runErasure(ctx, project, request, subject, ask.principal, options);
  return { request: (await ctx.metadata.erasure.get(request.id)) ?? request, certificate };
}
