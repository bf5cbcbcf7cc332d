import type { Command } from 'commander';
import { findSource, type Project } from '../../definitions/index.js';
import { collectGarbage } from '../../orchestration/garbage-collect.js';
import { listRuns } from '../../orchestration/track-run.js';
import type { Platform } from '../../platform.js';
import { parseDuration, toIso } from '../../time/index.js';
import { UsageError } from '../exit.js';
import { table } from '../output.js';
import { audited } from './audit-commands.js';
import { authorizeCli, authorizeCliStatus, cliPrincipal } from '../../compliance/access/cli-principal.js';
import type { CommandContext } from './command-context.js';

/** One listing: JSON rows, and the columns of its human table. */
interface Listing {
  readonly rows: readonly Record<string, unknown>[];
  readonly columns: readonly string[];
}

interface ListOptions {
  readonly source?: string;
  readonly limit: number;
}

const iso = (ms: number | null): string | null => (ms === null ? null : toIso(ms));

async function datasets(platform: Platform, { limit }: ListOptions): Promise<Listing> {
  const rows = (await platform.metadata.listDatasets(limit)).map(({ asKnown, ...d }) => ({ ...d, time: asKnown ? 'as-known' : 'event', createdAt: iso(d.createdAt) }));
  return { rows, columns: ['id', 'time', 'rowCount', 'path', 'spine', 'features', 'snapshots', 'createdAt'] };
}

/** Everything `list` can show, each read from the applied registry or the metadata store. */
const LISTINGS: Record<string, (platform: Platform, options: ListOptions) => Promise<Listing>> = {
  async entities(platform) {
    const project: Project = await platform.project();
    return { rows: project.entities.map((e) => ({ name: e.name, joinKey: e.joinKeys.join(','), description: e.description ?? null })), columns: ['name', 'joinKey', 'description'] };
  },
  async sources(platform) {
    const project = await platform.project();
    const rows = await Promise.all(project.sources.map(async (s) => {
      const latest = await platform.metadata.latestSnapshot(s.name);
      return { name: s.name, timestamp: s.timestamp, schema: s.schema, snapshot: latest?.id ?? null, rows: latest?.rowCount ?? 0, description: s.description ?? null };
    }));
    return { rows, columns: ['name', 'timestamp', 'snapshot', 'rows', 'schema'] };
  },
  async views(platform) {
    const project = await platform.project();
    const rows = project.featureViews.map((v) => ({
      name: v.name, entity: v.entity, source: v.source, features: v.features.map((f) => f.name), ttl: v.ttl ?? null, hash: v.hash,
      // Row transforms: whether the view filters its rows, and the columns it derives (the compiled SQL in --json).
      transforms: [...(v.filter === undefined ? [] : ['filter']), ...Object.keys(v.derived ?? {})],
      ...(v.filter === undefined ? {} : { filter: v.filter }), ...(v.derived === undefined ? {} : { derived: v.derived }),
    }));
    return { rows, columns: ['name', 'entity', 'source', 'features', 'transforms', 'ttl', 'hash'] };
  },
  async requests(platform) {
    const project = await platform.project();
    const rows = (project.requestViews ?? []).map((r) => ({ name: r.name, request: r.request, inputs: r.inputs, features: Object.fromEntries(r.features.map((f) => [f.name, f.valueType])), hash: r.hash }));
    return { rows, columns: ['name', 'request', 'inputs', 'features', 'hash'] };
  },
  async services(platform) {
    const project = await platform.project();
    return { rows: project.featureServices.map((s) => ({ name: s.name, features: s.features.map((f) => `${f.view}:${f.feature}`) })), columns: ['name', 'features'] };
  },
  datasets,
  async snapshots(platform, { source, limit }) {
    const snapshots = await platform.metadata.listSnapshots(source === undefined ? { limit } : { source, limit });
    // None for a name the registry does not know: a misspelt source is named (a removed source's snapshots are still listed).
    if (snapshots.length === 0 && source !== undefined) findSource(await platform.project(), source);
    const rows = await Promise.all(snapshots.map(async (s) => {
      const lineage = await platform.metadata.snapshotLineage(s.id);
      return { id: s.id, source: s.source, version: s.version, operation: s.operation ?? (lineage ? 'transform' : 'ingest'), rows: s.rowCount, addedRows: s.addedRows, files: s.files.length, createdAt: iso(s.createdAt), ...(lineage ? { lineage } : {}) };
    }));
    return { rows, columns: ['id', 'source', 'version', 'operation', 'rows', 'addedRows', 'files', 'createdAt'] };
  },
  async runs(platform, { limit }) {
    const rows = (await listRuns(platform, limit)).map((r) => ({
      id: r.id, job: r.job, status: r.status, startedAt: iso(r.startedAt), finishedAt: iso(r.finishedAt),
      ms: r.finishedAt === null ? null : r.finishedAt - r.startedAt, error: r.error, params: r.params, stats: r.stats,
    }));
    return { rows, columns: ['id', 'job', 'status', 'startedAt', 'ms', 'error'] };
  },
  async transforms(platform) {
    const project = await platform.project();
    const rows = await Promise.all((project.transforms ?? []).map(async (t) => {
      const latest = await platform.metadata.latestSnapshot(t.name);
      const lineage = latest && (await platform.metadata.snapshotLineage(latest.id));
      return { name: t.name, inputs: t.inputs, incremental: t.incremental === true, snapshot: latest?.id ?? null, rows: latest?.rowCount ?? 0, readSnapshots: lineage?.inputs ?? null, hash: t.hash };
    }));
    return { rows, columns: ['name', 'inputs', 'incremental', 'snapshot', 'rows', 'readSnapshots'] };
  },
};

/** A table cell: lists as `a, b`, records as `k=v, ...`; JSON stays exact for `--json`. */
function cell(value: unknown): unknown {
  if (Array.isArray(value)) return value.join(', ');
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([k, v]) => `${k}=${v ?? '-'}`).join(', ');
  return value;
}

const human = (listing: Listing, empty: string): string =>
  listing.rows.length === 0 ? empty : table(listing.columns, listing.rows.map((r) => listing.columns.map((c) => cell(r[c]))));

const formatBytes = (bytes: number): string => (bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

/** `list`, `datasets`, `gc`: what the registry and the metadata store hold, and cleaning up. */
export function registerRegistryCommands(program: Command, run: CommandContext): void {
  const limit = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--limit takes a positive whole number, not "${v}"`);
    return n;
  };
  program
    .command('list')
    .argument('<kind>', Object.keys(LISTINGS).join('|'))
    .option('--source <name>', 'snapshots of this source only')
    .option('--limit <n>', 'at most this many rows (datasets, snapshots, runs)', limit, 100)
    .description('list entities, sources, views, requests (request views), services, datasets, snapshots, runs or transforms')
    .action((kind: string, options: ListOptions) =>
      run.withPlatform(async ({ platform, out }) => {
        const list = LISTINGS[kind];
        if (!Object.hasOwn(LISTINGS, kind) || !list) throw new UsageError(`unknown kind "${kind}"; use one of ${Object.keys(LISTINGS).join(', ')}`);
        await authorizeCliStatus(platform);
        const listing = await list(platform, options);
        out.result(listing.rows, () => human(listing, `No ${kind}.`));
      }),
    );

  program
    .command('datasets')
    .option('--limit <n>', 'at most this many datasets', limit, 100)
    .description('registered training datasets: id, spine, features, snapshots, rows, path')
    .action((options: ListOptions) =>
      run.withPlatform(async ({ platform, out }) => {
        await authorizeCliStatus(platform);
        const listing = await datasets(platform, options);
        out.result(listing.rows, () => human(listing, 'No datasets.'));
      }),
    );

  program
    .command('gc')
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--min-age <duration>', 'keep unreferenced lake files younger than this (e.g. 10m); 0 for none', '1m')
    .description('remove lake files no snapshot references, staged files of crashed ingests and temporary files of dead dataset builds')
    .action((options: { dryRun?: boolean; minAge: string }) =>
      run.withPlatform(audited({ action: 'gc', target: 'lake' }, async ({ platform, out }) => {
        await authorizeCli(platform, await cliPrincipal(platform), 'admin', 'gc');
        const dryRun = options.dryRun === true;
        const minAgeMs = options.minAge.trim() === '0' ? 0 : parseDuration(options.minAge);
        if (minAgeMs === undefined) throw new UsageError(`--min-age takes a duration such as 10m or 1h (or 0), not "${options.minAge}"`);
        const reports = await collectGarbage(platform, { dryRun, minAgeMs });
        const files = reports.reduce((n, r) => n + r.files.length, 0);
        const bytes = reports.reduce((n, r) => n + r.bytes, 0);
        out.result({ dryRun, files, bytes, kinds: reports }, () =>
          [table(['kind', 'files', 'bytes'], reports.map((r) => [r.kind, r.files.length, formatBytes(r.bytes)])), '',
            `${dryRun ? 'would free' : 'freed'} ${formatBytes(bytes)} in ${files} file(s)`,
            ...reports.flatMap((r) => (r.heldElsewhere ?? []).map((f) => `kept ${f}: its writer is a process of another pid namespace, which gc cannot look at; remove it if no such process runs there`))].join('\n'),
        );
        return { dryRun, files, bytes, kinds: reports.map((r) => ({ kind: r.kind, files: r.files.length, bytes: r.bytes })) };
      })),
    );
}
