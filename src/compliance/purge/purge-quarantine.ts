import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SluiceContext } from '../../context.js';
import { literal, readPath } from '../../storage/engine/sql-engine.js';
import { publishFile } from '../../storage/lake/atomic-file.js';
import type { StorePurge } from './purge-types.js';
import { writeBatchResults } from '../../quality/quarantine.js';
import type { Project, Source } from '../../definitions/index.js';
import type { QuarantinedBatch } from '../../storage/metadata/quality-store.js';
import { dropErasedRows, erasedKeysIn } from '../erasure/erased-rows.js';
import { entityKeyParts } from './match-sql.js';

/**
 * Removes the rows `predicate` selects from the held quarantined batches of `table` (Parquet
 * files with the lake's columns under `<dataDir>/quarantine/`): each affected file is written
 * again without them (tmp, fsync, rename) and the batch's row count lowered, so a later release
 * commits only what is left. Released and dropped batches hold nothing (their rows are in the
 * lake, or gone).
 */
export async function purgeQuarantine(ctx: SluiceContext, table: string, predicate: string, dryRun: boolean): Promise<StorePurge> {
  const report = { store: `quarantine:${table}`, rows: 0, bytes: 0, filesRewritten: [] as string[] };
  const held = await ctx.metadata.quality.listQuarantine({ status: 'held', dataset: table });
  if (held.length === 0) return report;
  const engine = await ctx.engine();
  for (const batch of held) {
    const path = join(ctx.dataDir, batch.file);
    if (!existsSync(path)) continue;
    const [hit] = await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM read_parquet(${readPath(path)}) WHERE ${predicate}`);
    const rows = Number(hit!.n);
    if (rows === 0) continue;
    report.rows += rows;
    report.filesRewritten.push(batch.file);
    if (dryRun) continue;
    const before = statSync(path).size;
    await publishFile(path, async (temporary) => {
      await engine.run(`COPY (SELECT * FROM read_parquet(${readPath(path)}) WHERE NOT (${predicate})) TO ${literal(temporary)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
      report.bytes += before - statSync(temporary).size;
    });
    await ctx.metadata.purge.setQuarantinedRows(batch.id, batch.rows - rows);
  }
  return report;
}

/**
 * Removes the check samples of `table` that show a row of one of the keys (`containing`: each
 * key's parts): from stored check results and quarantined batches' results, whose files beside
 * the held Parquet are written again. A sample is a failing row as text, so it can hold a key.
 */
export async function purgeCheckSamples(ctx: SluiceContext, table: string, containing: readonly (readonly string[])[], dryRun: boolean): Promise<StorePurge[]> {
  const { rows, bytes, batches } = await ctx.metadata.purge.purgeCheckSamples(table, containing, dryRun);
  if (rows === 0) return [];
  const files: string[] = [];
  for (const id of batches) {
    const batch = await ctx.metadata.quality.quarantined(id);
    if (batch === undefined) continue;
    files.push(batch.file.replace(/\.parquet$/, '.json'));
    if (!dryRun && existsSync(join(ctx.dataDir, batch.file))) await writeBatchResults(ctx, batch);
  }
  return [{ store: `check-samples:${table}`, rows, bytes, filesRewritten: files }];
}

/** The temporary table a held batch's rows are read into to drop erased subjects' rows. */
const HELD_ROWS = '_sluice_held_rows';

/**
 * Removes erased subjects' rows (the block list, `dropErasedRows`) from a batch just held in
 * quarantine, whose rows were checked against an older block list: an erasure that ran between
 * that check and the hold's record did not see the batch held, so its purge of quarantine missed
 * it. The file is written again without them (tmp, fsync, rename) and the batch's row count
 * lowered; the check samples that show those rows go too (`purgeCheckSamples` by the keys found:
 * the batch's record, the JSON beside its file, stored check results), so the caller records the
 * batch's results before it calls this. Returns the rows removed.
 *
 * @example
 * const removed = await dropErasedHeldRows(ctx, project, source, held);
 */
export async function dropErasedHeldRows(ctx: SluiceContext, project: Project, source: Source, held: QuarantinedBatch): Promise<number> {
  const path = join(ctx.dataDir, held.file);
  if (!existsSync(path)) return 0;
  const engine = await ctx.engine();
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${HELD_ROWS} AS SELECT * FROM read_parquet(${readPath(path)})`);
  try {
    const check = { erasure: ctx.metadata.erasure, dataDir: ctx.dataDir };
    const keys = await erasedKeysIn(engine, HELD_ROWS, project, source, check);
    const removed = await dropErasedRows(engine, HELD_ROWS, project, source, check);
    if (removed === 0) return 0;
    await publishFile(path, async (temporary) => {
      await engine.run(`COPY ${HELD_ROWS} TO ${literal(temporary)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    });
    await ctx.metadata.purge.setQuarantinedRows(held.id, held.rows - removed);
    for (const entity of new Set(keys.map((k) => k.entity))) {
      const parts = project.entities.find((e) => e.name === entity)?.joinKeys.length ?? 1;
      await purgeCheckSamples(ctx, source.name, keys.filter((k) => k.entity === entity).map((k) => entityKeyParts(k.key, parts)), false);
    }
    return removed;
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${HELD_ROWS}`);
  }
}
