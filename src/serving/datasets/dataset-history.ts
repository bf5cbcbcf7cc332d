import { resolve } from 'node:path';
import { entityKeySql, type Project } from '../../definitions/index.js';
import type { SluiceContext } from '../../context.js';
import { dropErasedSubjects } from '../../compliance/erasure/erased-rows.js';
import { ident, type SqlEngine } from '../../storage/engine/sql-engine.js';
import type { DatasetPurge } from '../../storage/metadata/metadata-store.js';
import type { DatasetManifest } from './build-dataset.js';
import { datasetIdOf, type DatasetContent } from './dataset-id.js';
import { SPINE_KEY } from './load-spine-sql.js';

/**
 * Deletes from table `spine` the rows of erased subjects: erasure treats a dataset's row of a
 * subject as the subject's data (it rewrites built datasets without it), so no later build writes
 * it back. A row's subjects are those of every entity whose join keys are all spine columns: the
 * features' entity by the spine's key (`_sluice_key`), another by its columns' text. Returns the
 * rows deleted (the manifest's `erasedRows`).
 */
export async function dropErasedSpineRows(ctx: SluiceContext, engine: SqlEngine, project: Project, columns: readonly string[], joinKeys: readonly string[]): Promise<number> {
  const subjects = project.entities
    .filter((e) => e.joinKeys.every((k) => columns.includes(k)))
    .map((e) => ({
      entity: e.name,
      key: e.joinKeys.join('\0') === joinKeys.join('\0') ? SPINE_KEY : entityKeySql(e.joinKeys.map((k) => `CAST(${ident(k)} AS VARCHAR)`)),
    }));
  return dropErasedSubjects(engine, 'spine', subjects, { erasure: ctx.metadata.erasure, dataDir: ctx.dataDir });
}

/** The rewrites (retention, erasure) of the snapshots a build reads, for its manifest; empty when none. */
export async function snapshotRewritesOf(ctx: SluiceContext, snapshots: Readonly<Record<string, string | null>>): Promise<NonNullable<DatasetManifest['snapshotRewrites']>> {
  const rewrites = [];
  for (const id of Object.values(snapshots)) {
    if (id === null) continue;
    for (const r of await ctx.metadata.purge.snapshotRewrites({ snapshotId: id })) {
      rewrites.push({ snapshotId: r.snapshotId, reason: r.reason, at: new Date(r.at).toISOString(), rowsBefore: r.rowsBefore, rowsAfter: r.rowsAfter });
    }
  }
  return rewrites;
}

/**
 * The removals (`purges`) a dataset written to `out` keeps from before: those of the manifest it
 * is rebuilt from and of the dataset last recorded at that path (a rebuild or build in place), so
 * a rebuild never wipes the record of an erasure or retention run, nor a `flagged` taint.
 */
export async function purgeHistory(ctx: SluiceContext, out: string, rebuilding: DatasetManifest | undefined): Promise<DatasetPurge[]> {
  const path = resolve(out);
  const [previous] = (await ctx.metadata.listDatasets(Number.MAX_SAFE_INTEGER)).filter((d) => d.path === path);
  const seen = new Set<string>();
  return [...(rebuilding?.purges ?? []), ...(previous?.purges ?? [])]
    .filter((p) => {
      const key = `${p.reason}\0${p.at}\0${p.action}\0${p.rows}`;
      return !seen.has(key) && seen.add(key);
    })
    .sort((a, b) => a.at - b.at);
}

/**
 * Why a rebuild of `manifest` is not the same dataset: each snapshot rewritten (by erasure or
 * retention, and when) since it was built, spine rows of subjects erased since, left out, cells
 * that overflowed or request functions that failed on other rows (another version's semantics),
 * and a manifest whose id was derived before all it states was part of ids (`datasetIdOf`).
 * Empty when the rebuild's inputs are the manifest's.
 */
export function rebuildDifferences(manifest: DatasetManifest, rebuilt: DatasetContent & Pick<DatasetManifest, 'datasetId'>): string[] {
  const known = new Set((manifest.snapshotRewrites ?? []).map((r) => `${r.snapshotId}\0${r.reason}\0${r.at}`));
  const sourceOf = (id: string) => Object.entries(manifest.snapshots).find(([, s]) => s === id)?.[0];
  const differences = (rebuilt.snapshotRewrites ?? [])
    .filter((r) => !known.has(`${r.snapshotId}\0${r.reason}\0${r.at}`))
    .map((r) => `snapshot ${r.snapshotId} of ${sourceOf(r.snapshotId)} was rewritten by ${r.reason} at ${r.at} (${r.rowsBefore} -> ${r.rowsAfter} rows)`);
  const erased = (rebuilt.erasedRows ?? 0) - (manifest.erasedRows ?? 0);
  if (erased > 0) differences.push(`${erased} spine row${erased === 1 ? '' : 's'} of erased subjects left out`);
  const counted = (what: string, now: Readonly<Record<string, number>>, was: Readonly<Record<string, number>>) => {
    const columns = [...new Set([...Object.keys(now), ...Object.keys(was)])].filter((c) => (now[c] ?? 0) !== (was[c] ?? 0));
    if (columns.length > 0) differences.push(`${what} differ: ${columns.map((c) => `${c} ${now[c] ?? 0}, was ${was[c] ?? 0}`).join('; ')}`);
  };
  counted('overflowed cells (null past the float64 range)', rebuilt.overflows ?? {}, manifest.overflows ?? {});
  const failedRows = (errors: DatasetManifest['requestErrors']) => Object.fromEntries(Object.entries(errors ?? {}).map(([c, e]) => [c, e.rows]));
  counted('rows whose request function failed', failedRows(rebuilt.requestErrors), failedRows(manifest.requestErrors));
  const stated = datasetIdOf(manifest);
  if (differences.length === 0 && stated !== manifest.datasetId && stated === rebuilt.datasetId) {
    differences.push(`its id ${manifest.datasetId} leaves out what its manifest states about its values (an id derived before overflows and request errors were part of it): the same values are ${rebuilt.datasetId}`);
  }
  return differences;
}
