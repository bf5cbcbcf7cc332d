import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { SluiceContext } from '../context.js';
import { abandonedTemporaries } from '../storage/lake/atomic-file.js';
import { servingLogDir } from '../observability/serving-log/index.js';
import type { LakeFile } from '../storage/lake/lake.js';
import { finishPendingDeletions } from '../compliance/purge/pending-deletions.js';
import { reapDeadRuns } from './track-run.js';

export interface GarbageOptions {
  /** Report what would be removed without removing it. */
  readonly dryRun: boolean;
  /** Files younger than this are kept even when unreferenced (writers of older versions hold no lease). */
  readonly minAgeMs: number;
}

/** What one kind of garbage amounted to. */
export interface GarbageReport {
  readonly kind: string;
  readonly files: readonly string[];
  readonly bytes: number;
  /** Files kept because their writer is a process of another pid namespace, which this process cannot look at: removable by hand once no such process runs there. */
  readonly heldElsewhere?: readonly string[];
}

/**
 * One kind of garbage: finds what is provably unreferenced and removes it unless `dryRun`.
 * A new kind (old online generations, say) is one more collector in `GARBAGE_COLLECTORS`.
 */
export interface GarbageCollector {
  readonly kind: string;
  collect(ctx: SluiceContext, options: GarbageOptions): Promise<GarbageReport>;
}

/** Sources with an ingest or a compaction (or tables with a transform run or a purge) running now (a live run lease): their unreferenced files may be about to be committed. */
async function sourcesBeingIngested(ctx: SluiceContext): Promise<Set<string>> {
  await reapDeadRuns(ctx);
  const runs = await ctx.metadata.listRuns(10_000);
  const live = runs.filter((r) => r.status === 'running');
  // A purge publishes rewritten files of its source and of the transforms derived from it before it swaps them in.
  const purged = live.filter((r) => r.job === 'purge').flatMap((r) => (Array.isArray(r.params.tables) ? r.params.tables.map(String) : []));
  // A compaction publishes its files before it commits them.
  return new Set([...live.filter((r) => r.job === 'ingest' || r.job === 'transform' || r.job === 'compact').map((r) => String(r.params.source)), ...purged]);
}

function lakeCollector(kind: string, staging: boolean): GarbageCollector {
  return {
    kind,
    async collect(ctx, options) {
      // Order matters: files first, then live ingests, then references. A file listed before a
      // live ingest was seen is either that ingest's (kept), committed by now (referenced), or orphaned.
      const files = (await ctx.lake.listFiles()).filter((f) => f.staging === staging);
      const busy = await sourcesBeingIngested(ctx);
      const referenced = await ctx.metadata.referencedFiles();
      const now = Date.now();
      const garbage = files.filter((f: LakeFile) => !referenced.has(f.file) && !busy.has(f.source) && now - f.modifiedAt >= options.minAgeMs);
      if (!options.dryRun) for (const f of garbage) await ctx.lake.remove(f.file);
      return { kind, files: garbage.map((f) => f.file), bytes: garbage.reduce((n, f) => n + f.bytes, 0) };
    },
  };
}

/**
 * The files Sluice publishes outside the lake (`publishFile`), whose temporaries a killed writer
 * may leave: dataset outputs (of build runs, and of the registry, which a purge rewrites) and
 * quarantined batches (which an erasure rewrites).
 */
async function publishedFiles(ctx: SluiceContext): Promise<Set<string>> {
  const built = (await ctx.metadata.listRuns(10_000)).filter((r) => r.job === 'dataset_build' && typeof r.params.out === 'string').map((r) => r.params.out as string);
  const registered = (await ctx.metadata.listDatasets(Number.MAX_SAFE_INTEGER)).map((d) => d.path);
  const quarantined = (await ctx.metadata.quality.listQuarantine()).map((b) => join(ctx.dataDir, b.file));
  return new Set([...built, ...registered, ...quarantined].map((p) => resolve(p)));
}

/** What `abandonedTemporaries` found for the targets in each directory, as one report (sizes of files only). */
async function temporariesReport(kind: string, targets: Map<string, (target: string) => boolean>, dryRun: boolean): Promise<GarbageReport> {
  const found = new Map<string, number>();
  const heldElsewhere: string[] = [];
  for (const [dir, isTarget] of targets) {
    const temporaries = await abandonedTemporaries(dir, isTarget);
    heldElsewhere.push(...temporaries.heldElsewhere);
    for (const file of temporaries.abandoned) {
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) found.set(file, info.size);
    }
  }
  if (!dryRun) for (const file of found.keys()) await rm(file, { force: true });
  return { kind, files: [...found.keys()], bytes: [...found.values()].reduce((a, b) => a + b, 0), ...(heldElsewhere.length > 0 ? { heldElsewhere } : {}) };
}

/** Unpublished files (`<file>.tmp-<pid>.<start>`, also of a dataset's manifest) of `publishedFiles` whose process is gone (`abandonedTemporaries`). */
const datasetTemporaries: GarbageCollector = {
  kind: 'dataset-temp',
  async collect(ctx, options) {
    // Many batches share a directory: each is listed once.
    const names = new Map<string, Set<string>>();
    for (const out of await publishedFiles(ctx)) {
      const inDir = names.get(dirname(out)) ?? names.set(dirname(out), new Set()).get(dirname(out))!;
      inDir.add(basename(out)).add(`${basename(out)}.manifest.json`);
    }
    return temporariesReport('dataset-temp', new Map([...names].map(([dir, targets]) => [dir, (t: string) => targets.has(t)])), options.dryRun);
  },
};

/** Copies of serving-log hour files a rewrite (a purge, an erasure) killed before its rename left: they may hold erased keys. */
const servingLogTemporaries: GarbageCollector = {
  kind: 'serving-log-temp',
  async collect(ctx, options) {
    const root = servingLogDir(ctx.dataDir);
    const services = existsSync(root) ? (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()) : [];
    return temporariesReport('serving-log-temp', new Map(services.map((s) => [join(root, s.name), (t: string) => t.endsWith('.jsonl')])), options.dryRun);
  },
};

/**
 * Online tables no view serves and no live writer owns (a writer that died mid-write, a crash
 * between the switch and the drop). Reported as tables and entries: LMDB reuses the pages, it
 * does not shrink its file, so no bytes are given back to the file system. A dry run lists nothing.
 */
const onlineGenerations: GarbageCollector = {
  kind: 'online-generations',
  async collect(ctx, options) {
    if (options.dryRun) return { kind: 'online-generations', files: [], bytes: 0 };
    const { generations, entries } = await (await ctx.online()).gc();
    return { kind: 'online-generations', files: generations === 0 ? [] : [`${generations} table(s), ${entries} entries`], bytes: 0 };
  },
};

/**
 * Lake files a crashed purge or snapshot expiry had swapped out of every snapshot but not deleted
 * (its recorded pending deletions): they hold removed rows, so they go whatever their age.
 */
const pendingDeletions: GarbageCollector = {
  kind: 'purge-leftovers',
  async collect(ctx, options) {
    const sizes = new Map((await ctx.lake.listFiles()).map((f) => [f.file, f.bytes]));
    const files = (await finishPendingDeletions(ctx, {}, options.dryRun)).map((p) => p.file);
    return { kind: 'purge-leftovers', files, bytes: files.reduce((n, f) => n + (sizes.get(f) ?? 0), 0) };
  },
};

/** Every kind of garbage `sluice gc` collects. */
export const GARBAGE_COLLECTORS: readonly GarbageCollector[] = [
  pendingDeletions,
  lakeCollector('lake-unreferenced', false),
  lakeCollector('lake-staging', true),
  datasetTemporaries,
  servingLogTemporaries,
  onlineGenerations,
];

/**
 * Removes what is provably unreferenced: lake files a crashed purge left as pending deletions
 * (`purge-leftovers`, whatever their age), lake files no snapshot lists (a published file whose
 * commit failed), staged files of crashed ingests (never while an ingest of that source is
 * live, never younger than `minAgeMs`), and dataset temporaries of dead processes.
 *
 * @example
 * const reports = await collectGarbage(ctx, { dryRun: true });
 */
export async function collectGarbage(ctx: SluiceContext, options: Partial<GarbageOptions> & { collectors?: readonly GarbageCollector[] } = {}): Promise<GarbageReport[]> {
  const resolved: GarbageOptions = { dryRun: options.dryRun ?? false, minAgeMs: options.minAgeMs ?? 60_000 };
  const reports: GarbageReport[] = [];
  for (const collector of options.collectors ?? GARBAGE_COLLECTORS) reports.push(await collector.collect(ctx, resolved));
  return reports;
}
