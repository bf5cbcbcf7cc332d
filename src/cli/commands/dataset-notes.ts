import type { DatasetManifest } from '../../serving/datasets/build-dataset.js';

/**
 * What a built dataset's manifest says beyond its size, as the CLI prints it (one line each):
 * how a rebuild differs from the dataset it rebuilds, spine rows of erased subjects left out,
 * snapshots that erasure or retention rewrote, removals kept from before, overflowed and
 * failed request-view values (null in the file). `--json` prints the manifest itself.
 *
 * @example
 * console.log([summary, ...datasetNotes(manifest)].join('\n'));
 */
export function datasetNotes(built: DatasetManifest): string[] {
  const notes: string[] = [];
  if (built.rebuildOf) {
    const { datasetId, differences } = built.rebuildOf;
    notes.push(differences.length === 0 ? `exact rebuild of ${datasetId}` : `not an exact rebuild of ${datasetId}: ${differences.join('; ')}`);
  }
  if (built.erasedRows) notes.push(`left out: ${built.erasedRows} spine row(s) of erased subjects`);
  if (built.snapshotRewrites && !built.rebuildOf) {
    notes.push(`read rewritten snapshots: ${built.snapshotRewrites.map((r) => `${r.snapshotId} (${r.reason} at ${r.at}, ${r.rowsBefore} -> ${r.rowsAfter} rows)`).join(', ')}`);
  }
  if (built.purges) notes.push(`purges kept: ${built.purges.map((p) => `${p.reason} at ${new Date(p.at).toISOString()} (${p.action}, ${p.rows} row(s))`).join(', ')}`);
  if (built.overflows) notes.push(`null past the float64 range: ${Object.entries(built.overflows).map(([c, n]) => `${c} ${n} row(s)`).join(', ')}`);
  if (built.requestErrors) notes.push(`null where a request function failed: ${Object.entries(built.requestErrors).map(([c, e]) => `${c} ${e.rows} row(s) (first: ${e.first})`).join(', ')}`);
  return notes;
}
