import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Project } from '../definitions/index.js';
import type { SluiceContext } from '../context.js';
import { buildDataset } from '../serving/datasets/build-dataset.js';
import { latestSnapshots } from '../serving/latest-snapshots.js';
import { getOnlineFeatures } from '../serving/online-features.js';

export interface ConsistencyReport {
  readonly asOf: string;
  readonly entities: number;
  readonly values: number;
  readonly mismatches: ReadonlyArray<{ entity: string; feature: string; online: unknown; offline: unknown }>;
}

/**
 * Checks the platform's central promise on live data: for each entity, the online value served
 * at `asOf` equals the training-dataset value for the spine row (entity, asOf), feature by feature.
 * `entityKeys` gives each entity's join key values, in the entity's key order.
 */
export async function checkConsistency(ctx: SluiceContext, project: Project, service: string, entityKeys: readonly (readonly string[])[]): Promise<ConsistencyReport> {
  const latest = await latestSnapshots(ctx.metadata, project);
  const joinKeys = joinKeysOf(project, service);
  const entities = Object.fromEntries(joinKeys.map((k, i) => [k, entityKeys.map((parts) => parts[i]!)]));
  const online = await getOnlineFeatures(project, await ctx.online(), { service, entities }, ctx.now(), latest);
  const spine = join(ctx.dataDir, `consistency-spine-${process.pid}.jsonl`);
  const out = join(ctx.dataDir, `consistency-${process.pid}.jsonl`);
  const spineRow = (parts: readonly string[]) => JSON.stringify({ ...Object.fromEntries(joinKeys.map((k, i) => [k, parts[i]])), ts: online.asOf });
  await writeFile(spine, entityKeys.map(spineRow).join('\n') + '\n');
  try {
    await buildDataset(ctx, project, { spine, out, service });
    const offline = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const mismatches: Array<{ entity: string; feature: string; online: unknown; offline: unknown }> = [];
    online.rows.forEach((row, i) => {
      for (const feature of online.features) {
        if (row[feature] !== (offline[i]![feature] ?? null)) mismatches.push({ entity: joinKeys.map((k) => String(row[k])).join(', '), feature, online: row[feature], offline: offline[i]![feature] });
      }
    });
    return { asOf: online.asOf, entities: entityKeys.length, values: entityKeys.length * online.features.length, mismatches };
  } finally {
    await Promise.all([spine, out, `${out}.manifest.json`].map((f) => rm(f, { force: true })));
  }
}

function joinKeysOf(project: Project, service: string): readonly string[] {
  const ref = project.featureServices.find((s) => s.name === service)!.features[0]!;
  return project.featureViews.find((v) => v.name === ref.view)!.joinKeys;
}
