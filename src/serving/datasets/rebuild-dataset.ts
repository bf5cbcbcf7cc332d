import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { FeatureRef, Project } from '../../definitions/index.js';
import { featureColumn, stableStringify } from '../../definitions/index.js';
import type { Principal } from '../../compliance/principal.js';
import { ConflictError, NotFoundError, PolicyError, ValidationError } from '../../errors.js';
import type { SluiceContext } from '../../context.js';
import { fileSha256 } from '../../ingest/file-hash.js';
import { buildDataset, type DatasetManifest } from './build-dataset.js';

export interface RebuildDatasetOptions {
  /** Where to write the rebuilt dataset; default the manifest's path. Same format as the original. */
  readonly out?: string;
  readonly onProgress?: (done: number, total: number) => void;
  /** Who the rebuild is for: masked as for a build, under the current project's rules (see `BuildDatasetOptions.principal`). */
  readonly principal?: Principal;
  readonly asRoles?: readonly string[];
}

async function readManifest(path: string): Promise<DatasetManifest> {
  if (!existsSync(path)) throw new NotFoundError('NOT_FOUND', `manifest ${path} does not exist`);
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as DatasetManifest;
  } catch (error) {
    throw new ValidationError('VALIDATION_FAILED', `manifest ${path} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof manifest?.datasetId !== 'string' || !manifest.spine || !Array.isArray(manifest.features) || !manifest.snapshots || !manifest.definitions) {
    throw new ValidationError('VALIDATION_FAILED', `${path} is not a dataset manifest (it lacks datasetId, spine, features, definitions or snapshots)`);
  }
  return manifest;
}

/**
 * The definitions the dataset was built with: the current project if every view of the
 * manifest still has its definition hash, else the newest registry version where they all do.
 */
/** A feature view or request view of the project, by name: both have a definition hash and features. */
const definitionOf = (project: Project, name: string) => project.featureViews.find((v) => v.name === name) ?? (project.requestViews ?? []).find((v) => v.name === name);

async function projectBuiltWith(ctx: SluiceContext, current: Project, manifest: DatasetManifest, path: string): Promise<Project> {
  const views = Object.entries(manifest.definitions);
  const matches = (project: Project) => views.every(([name, hash]) => definitionOf(project, name)?.hash === hash);
  if (matches(current)) return current;
  const applied = (await ctx.metadata.registryVersions()).find((version) => matches(version.project));
  if (applied) return applied.project;
  const [name, hash] = views.find(([n, h]) => definitionOf(current, n)?.hash !== h)!;
  const now = definitionOf(current, name);
  throw new ConflictError('CONFLICT', `manifest ${path}: ${current.featureViews.some((v) => v.name === name) || !now ? 'feature' : 'request'} view "${name}" ${now ? `changed (definition ${hash}, now ${now.hash})` : 'is no longer in the registry'} and no applied registry version has the definitions dataset ${manifest.datasetId} was built with; apply them to rebuild it`);
}

/** The `view:feature` refs of the manifest's output columns. */
function featureRefs(manifest: DatasetManifest, project: Project, path: string): string[] {
  const byColumn = new Map<string, FeatureRef>();
  for (const view of [...project.featureViews, ...(project.requestViews ?? [])].filter((v) => v.name in manifest.definitions)) {
    for (const feature of view.features) byColumn.set(featureColumn({ view: view.name, feature: feature.name }), { view: view.name, feature: feature.name });
  }
  return manifest.features.map((column) => {
    const ref = byColumn.get(column);
    if (!ref) throw new ValidationError('VALIDATION_FAILED', `manifest ${path}: column "${column}" belongs to no view the manifest lists`);
    return `${ref.view}:${ref.feature}`;
  });
}

/** Where a rebuild from `manifestPath` without `--out` writes: the dataset beside its manifest (`X.manifest.json` is the manifest of `X`). */
export function manifestDatasetPath(manifestPath: string): string {
  return manifestPath.endsWith(MANIFEST_SUFFIX) ? manifestPath.slice(0, -MANIFEST_SUFFIX.length) : manifestPath;
}
const MANIFEST_SUFFIX = '.manifest.json';

/**
 * Rebuilds a dataset exactly from its manifest: the same spine (checked by sha256), features,
 * timestamp column, time mode (event time or as-known), definitions (from the registry history if they changed since) and lake
 * snapshots, so the same dataset id and values. Fails naming what is missing: a spine whose
 * content differs, a snapshot that no longer exists, definitions no registry version has.
 * When erasure or retention rewrote its snapshots since, or its spine names subjects erased
 * since (rows left out), the rebuild is another dataset (another id): its manifest's `rebuildOf`
 * names the dataset rebuilt and each difference (which snapshot, rewritten by what, when; cells
 * that overflowed or request functions that failed on other rows; an id derived before they were part of it).
 *
 * @example
 * const manifest = await rebuildDataset(ctx, project, 'train.parquet.manifest.json', { out: 'again.parquet' });
 */
export async function rebuildDataset(ctx: SluiceContext, project: Project, manifestPath: string, options: RebuildDatasetOptions = {}): Promise<DatasetManifest> {
  const manifest = await readManifest(manifestPath);
  const out = options.out ?? manifest.path;
  // A manifest is a file anyone may hand over: it may name its own dataset (beside it) as the output, never another file, unless --out names it.
  if (options.out === undefined && resolve(`${manifest.path}.manifest.json`) !== resolve(manifestPath)) {
    throw new PolicyError('POLICY_DENIED', `manifest ${manifestPath} names ${manifest.path} as its dataset, which is not beside it (${manifest.path}.manifest.json); a rebuild writes only where you say: pass --out PATH`, { details: { manifest: manifestPath, path: manifest.path } });
  }
  if (extname(out).toLowerCase() !== `.${manifest.format}`) {
    throw new ValidationError('VALIDATION_FAILED', `--out ${out}: dataset ${manifest.datasetId} is ${manifest.format}; use a .${manifest.format} path to rebuild the same dataset`);
  }
  const spine = manifest.spine.path;
  if (!existsSync(spine)) throw new NotFoundError('NOT_FOUND', `spine ${spine} of dataset ${manifest.datasetId} does not exist; restore it to rebuild the dataset`);
  const sha256 = await fileSha256(spine);
  if (sha256 !== manifest.spine.sha256) {
    throw new ConflictError('CONFLICT', `spine ${spine} changed since dataset ${manifest.datasetId} was built (sha256 ${manifest.spine.sha256.slice(0, 12)}..., now ${sha256.slice(0, 12)}...); restore the original spine to rebuild it`);
  }
  const builtWith = await projectBuiltWith(ctx, project, manifest, manifestPath);
  const rebuilt = await buildDataset(ctx, builtWith, {
    spine, out, features: featureRefs(manifest, builtWith, manifestPath), timestampColumn: manifest.spine.timestampColumn,
    ...(manifest.spine.timestampUnit ? { timestampUnit: manifest.spine.timestampUnit } : {}),
    ...(manifest.replaceColumns ? { replaceColumns: true } : {}),
    ...(manifest.asKnown ? { asKnown: true } : {}),
    ...(manifest.model === undefined ? {} : { model: manifest.model }),
    snapshots: manifest.snapshots, ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    maskingProject: project, rebuilding: manifest, ...(options.principal ? { principal: options.principal } : {}), ...(options.asRoles ? { asRoles: options.asRoles } : {}),
  });
  if (rebuilt.datasetId !== manifest.datasetId) {
    const masking = stableStringify(rebuilt.masked ?? {}) === stableStringify(manifest.masked ?? {}) ? '' : `: it is masked differently for you (${describeMasked(rebuilt.masked)}) than when it was built (${describeMasked(manifest.masked)}); rebuild it as a principal with the roles it was built for`;
    // Erasure or retention rewrote its inputs since: another dataset, whose manifest's rebuildOf says why (the CLI prints it).
    if (masking === '' && (rebuilt.rebuildOf?.differences.length ?? 0) > 0) return rebuilt;
    throw new ConflictError('CONFLICT', `rebuilding from ${manifestPath} gave dataset ${rebuilt.datasetId}, not ${manifest.datasetId}${masking || "; its inputs differ from the manifest's"}`);
  }
  return rebuilt;
}

const describeMasked = (masked: DatasetManifest['masked']): string => (masked === undefined ? 'nothing masked' : Object.entries(masked).map(([c, m]) => `${c} ${m}`).join(', '));
