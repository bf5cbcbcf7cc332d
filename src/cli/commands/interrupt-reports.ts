import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { temporaryPath } from '../../storage/lake/atomic-file.js';
import type { Platform } from '../../platform.js';
import type { InterruptReport } from '../interrupt.js';

/**
 * What an interrupted `ingest` left: the source's latest snapshot is read when the ingest starts
 * and again when it is interrupted, so the report says whether its snapshot was committed (an
 * ingest commits in one step, after the rows are checked and written).
 */
export async function ingestInterruptReport(platform: Platform, source: string): Promise<InterruptReport> {
  const before = (await platform.metadata.latestSnapshot(source))?.id;
  return async () => {
    const now = await platform.metadata.latestSnapshot(source);
    if (now === undefined || now.id === before) {
      return `nothing was committed to "${source}" (${before === undefined ? 'it has no snapshot yet' : `its latest snapshot is still ${before}`}); run the same command again`;
    }
    return `snapshot ${now.id} of "${source}" (${now.addedRows} rows added) was committed before the interrupt and is not ingested again; the online tables may lack its rows: run "sluice materialize"`;
  };
}

/** What an interrupted `materialize` left: the views whose online table was switched in since it started (each switch is atomic). */
export async function materializeInterruptReport(platform: Platform, views: readonly string[]): Promise<InterruptReport> {
  const online = await platform.online();
  const generation = async (view: string) => (await online.viewInfo(view))?.generation;
  const before = new Map(await Promise.all(views.map(async (v) => [v, await generation(v)] as const)));
  return async () => {
    const switched: string[] = [];
    for (const view of views) if ((await generation(view)) !== before.get(view)) switched.push(view);
    const rest = views.filter((v) => !switched.includes(v));
    return (switched.length > 0 ? `the online tables of ${switched.join(', ')} were switched in; ` : 'no online table was switched in; ') +
      (rest.length > 0 ? `${rest.join(', ')} ${rest.length === 1 ? 'keeps serving its previous table' : 'keep serving their previous tables'}; run "sluice materialize --views ${rest.join(',')}"` : 'every view was done');
  };
}

/**
 * What an interrupted `dataset build` left: it publishes its file, then its manifest, each by a
 * rename (`commitFile`), so each is the previous one or the new one, then records the dataset (what
 * `sluice datasets` lists); this process's temporaries are removed. `out` is where the build writes:
 * `--out`, or for a rebuild from a manifest without it, the path the manifest names.
 */
export function datasetInterruptReport(platform: Platform, out: string): InterruptReport {
  const startedAt = Date.now();
  return async () => {
    const manifest = `${out}.manifest.json`;
    for (const path of [out, manifest]) rmSync(temporaryPath(path), { force: true });
    const renamedSinceStart = (path: string) => existsSync(path) && statSync(path).mtimeMs >= startedAt;
    if (renamedSinceStart(manifest)) {
      const id = (JSON.parse(readFileSync(manifest, 'utf8')) as { datasetId?: unknown }).datasetId;
      const recorded = (await platform.metadata.listDatasets(50)).some((d) => d.id === id && resolve(d.path) === out);
      return recorded
        ? `the dataset and its manifest were published at ${out} before the interrupt`
        : `the dataset and its manifest were written at ${out}, but the dataset was not recorded (sluice datasets does not list it); run the same command again`;
    }
    if (renamedSinceStart(out)) return `the dataset's file was written at ${out} but not its manifest (${manifest} is missing or older); run the same command again`;
    return `nothing was published at ${out} (its temporary files were removed); run the same command again`;
  };
}
