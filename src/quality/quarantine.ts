import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SluiceContext } from '../context.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { commitOrRemove } from '../ingest/commit-ingest.js';
import { withLease } from '../orchestration/lease.js';
import { testPause } from '../orchestration/test-pause.js';
import { fsyncPath, writeFileAtomic } from '../storage/lake/atomic-file.js';
import type { Snapshot, TransformLineage } from '../storage/metadata/metadata-store.js';
import type { CheckOutcome, QuarantinedBatch } from '../storage/metadata/quality-store.js';
import { checksFailedError, endHeldConditions, recordVerdict, type BatchVerdict } from './run-checks.js';

/** The quarantine area of the data directory: held batches, one Parquet file and its results each. */
export const QUARANTINE_DIR = 'quarantine';

/** A staged batch (lake rows, not published) that error checks held back. */
export interface HeldBatch {
  readonly dataset: string;
  readonly origin: string;
  /** The staged Parquet file (absolute); moved into the quarantine area. */
  readonly staged: string;
  readonly rows: number;
  readonly contentHash: string;
  readonly results: readonly CheckOutcome[];
  readonly lineage?: TransformLineage;
  /** Runs once the batch is recorded held and its results recorded (an ingest's guard against an erasure that ran meanwhile; see `enforceVerdict`). */
  readonly settle?: (held: QuarantinedBatch) => Promise<void>;
}

/**
 * Keeps a blocked batch: its staged Parquet moves under `<dataDir>/quarantine/<dataset>/`
 * (durably, with its check results beside it as JSON), and the metadata store records it as held.
 *
 * @example
 * const held = await holdBatch(ctx, { dataset: 'txns', origin: file, staged, rows, contentHash, results });
 */
export async function holdBatch(ctx: SluiceContext, batch: HeldBatch): Promise<QuarantinedBatch> {
  const file = join(QUARANTINE_DIR, batch.dataset, `${randomUUID()}.parquet`);
  const target = join(ctx.dataDir, file);
  await mkdir(dirname(target), { recursive: true });
  await fsyncPath(batch.staged);
  await rename(batch.staged, target);
  await writeBatchResults(ctx, { ...batch, file });
  await fsyncPath(dirname(target));
  await testPause('quarantine.hold');
  const held = await ctx.metadata.quality.hold({
    dataset: batch.dataset, origin: batch.origin, file, rows: batch.rows, contentHash: batch.contentHash, runId: null, results: batch.results,
    createdAt: ctx.now(), ...(batch.lineage ? { lineage: batch.lineage } : {}),
  });
  return held;
}

/**
 * Writes a held batch's check results beside its Parquet file (`<file>.json`), atomically: at
 * hold time, and again when a purge removed samples from them.
 *
 * @example
 * await writeBatchResults(ctx, await ctx.metadata.quality.quarantined(id));
 */
export async function writeBatchResults(ctx: SluiceContext, batch: Pick<QuarantinedBatch, 'dataset' | 'origin' | 'file' | 'rows' | 'results'>): Promise<void> {
  const target = join(ctx.dataDir, batch.file).replace(/\.parquet$/, '.json');
  await writeFileAtomic(target, `${JSON.stringify({ dataset: batch.dataset, origin: batch.origin, rows: batch.rows, results: batch.results }, null, 2)}\n`);
}

/**
 * Acts on a batch's verdict: records it when nothing blocks; otherwise stages the batch
 * (`stage`: the caller writes its rows, unpublished), holds it in quarantine, records the
 * verdict with the quarantine id, and throws the error that fails the run, naming the checks
 * and how to release or drop the batch.
 *
 * @example
 * await enforceVerdict(ctx, verdict, async () => ({ dataset, origin, staged, rows, contentHash }));
 */
export async function enforceVerdict(ctx: SluiceContext, verdict: BatchVerdict, stage: () => Promise<Omit<HeldBatch, 'results'>>): Promise<void> {
  if (verdict.blocking.length === 0) {
    await recordVerdict(ctx, verdict);
    return;
  }
  const batch = await stage();
  const held = await holdBatch(ctx, { ...batch, results: verdict.results });
  await recordVerdict(ctx, verdict, { quarantineId: held.id });
  // After the results are recorded: what it removes (an erased subject's rows) it removes from their samples too.
  await batch.settle?.(held);
  throw checksFailedError(batch.dataset, verdict, `the batch (${batch.rows} rows of ${batch.origin}) is quarantined as ${held.id}, not committed: inspect it with "sluice quarantine list", then "sluice quarantine release ${held.id}" or "sluice quarantine drop ${held.id}"`, held.id);
}

async function heldBatch(ctx: SluiceContext, id: number): Promise<QuarantinedBatch> {
  const batch = await ctx.metadata.quality.quarantined(id);
  if (!batch) throw new NotFoundError('NOT_FOUND', `quarantined batch ${id} does not exist; "sluice quarantine list" shows the held ones`);
  return batch;
}

/**
 * Runs a release or drop of batch `id` holding its lease, read after the lease is held: a
 * release commits before it records the outcome, so a drop (or a second release) in another
 * process between the two would otherwise see it still held and let dropped rows reach the lake.
 * The other waits for the holder and then sees the outcome; a holder that died is taken over.
 */
function resolving<T>(ctx: SluiceContext, id: number, body: (batch: QuarantinedBatch) => Promise<T>): Promise<T> {
  return withLease(ctx.metadata, `quarantine:${id}`, { waitMs: 120_000, purpose: `the release or drop of quarantined batch ${id}` }, async () => body(await heldBatch(ctx, id)));
}

/** The content hash a released batch commits with: its own for an ingest (so the file counts as ingested), a per-batch one for a transform. */
const releaseHash = (batch: QuarantinedBatch): string => (batch.lineage ? `${batch.contentHash}:quarantine:${batch.id}` : batch.contentHash);

/**
 * Commits a held batch as if its checks had passed, through the normal commit: an ingest's
 * rows as the source's next snapshot (idempotent by content hash: the same file is committed
 * once), a transform's as its table's next snapshot with the run's lineage. Records who released
 * it and when. Releasing a batch already released returns it (nothing is committed twice);
 * one that was dropped is a ConflictError.
 *
 * @example
 * const { batch, snapshot } = await releaseBatch(ctx, 3, 'ana');
 */
export async function releaseBatch(ctx: SluiceContext, id: number, by: string): Promise<{ batch: QuarantinedBatch; snapshot: Snapshot; committed: boolean }> {
  return resolving(ctx, id, (batch) => releaseHeld(ctx, batch, by));
}

async function releaseHeld(ctx: SluiceContext, batch: QuarantinedBatch, by: string): Promise<{ batch: QuarantinedBatch; snapshot: Snapshot; committed: boolean }> {
  const id = batch.id;
  if (batch.status === 'released') return { batch, snapshot: (await ctx.metadata.snapshot(batch.snapshot!))!, committed: false };
  if (batch.status === 'dropped') throw new ConflictError('CONFLICT', `quarantined batch ${id} was dropped by ${batch.resolvedBy}; it cannot be released`);
  const hash = releaseHash(batch);
  // A release that died after its commit left the snapshot: find it rather than commit again.
  const earlier = (await ctx.metadata.listSnapshots({ source: batch.dataset, limit: 1_000 })).find((s) => s.contentHash === hash);
  let outcome: { committed: boolean; snapshot: Snapshot };
  if (earlier) outcome = { committed: false, snapshot: earlier };
  else {
    const staged = ctx.lake.stagingPath(batch.dataset);
    await copyFile(join(ctx.dataDir, batch.file), staged);
    const published = batch.rows > 0 ? await ctx.lake.publish(batch.dataset, staged, `q${batch.id}-${batch.contentHash.slice(0, 12)}`) : undefined;
    if (!published) await ctx.lake.discard(staged);
    const files = published ? [published] : [];
    outcome = await commitOrRemove(ctx, published, async () => (batch.lineage
      ? { committed: true, snapshot: await ctx.metadata.commitTransform({ source: batch.dataset, files, rows: batch.rows, contentHash: hash, lineage: batch.lineage, createdAt: ctx.now() }) }
      : ctx.metadata.commitIngest({ source: batch.dataset, addedFiles: files, addedRows: batch.rows, contentHash: hash, force: false, createdAt: ctx.now() }, [])));
  }
  const resolved = await ctx.metadata.quality.resolve(id, { status: 'released', by, at: ctx.now(), snapshot: outcome.snapshot.id });
  await removeHeldFiles(ctx, batch);
  await endHeldConditions(ctx, resolved, 'committed as if its checks had passed');
  return { batch: resolved, snapshot: outcome.snapshot, committed: outcome.committed };
}

/**
 * Deletes a held batch (its file and results in the quarantine area) and records who dropped
 * it and when; nothing reaches the lake.
 *
 * @example
 * await dropBatch(ctx, 3, 'ana');
 */
export async function dropBatch(ctx: SluiceContext, id: number, by: string): Promise<QuarantinedBatch> {
  return resolving(ctx, id, async (batch) => {
    const resolved = await ctx.metadata.quality.resolve(id, { status: 'dropped', by, at: ctx.now() });
    await removeHeldFiles(ctx, batch);
    await endHeldConditions(ctx, resolved, 'nothing reached the lake');
    return resolved;
  });
}

async function removeHeldFiles(ctx: SluiceContext, batch: QuarantinedBatch): Promise<void> {
  const path = join(ctx.dataDir, batch.file);
  await rm(path, { force: true });
  await rm(path.replace(/\.parquet$/, '.json'), { force: true });
}
