import { join, resolve } from 'node:path';
import type { SluiceContext } from './context.js';
import { loadProjectSpec } from './config/load-project.js';
import { bindRequestFunctions, type Project, type ProjectSpec, type RequestFunctions } from './definitions/index.js';
import { NotFoundError } from './errors.js';
import { duckDbEngine, type DuckDbEngineConfig } from './storage/engine/duckdb-engine.js';
import type { SqlEngine } from './storage/engine/sql-engine.js';
import { parquetLake } from './storage/lake/parquet-lake.js';
import { sqliteMetadataStore } from './storage/metadata/sqlite/index.js';
import { lmdbOnlineStore } from './storage/online/lmdb/index.js';
import { lmdbEventLog } from './storage/log/lmdb/index.js';
import type { EventLog } from './storage/log/event-log.js';
import type { OnlineStore } from './storage/online/online-store.js';
import { lineageConfigFromEnv, lineageEmitter, type LineageConfig } from './observability/lineage/index.js';
import type { MetadataStore } from './storage/metadata/metadata-store.js';
import { auditSigningKey } from './compliance/audit/audit-signing-key.js';
import { checkpointEveryFromEnv, checkpointingAuditTrail } from './compliance/audit/auto-checkpoints.js';
import { privateDataDir } from './storage/private-data-dir.js';

export interface PlatformOptions {
  /** The project directory; data lives in `<projectDir>/.sluice` unless `dataDir` is given. */
  readonly projectDir: string;
  readonly dataDir?: string;
  readonly now?: () => number;
  /** DuckDB worker threads; default all cores. */
  readonly threads?: number;
  /** Where request views' functions come from; default the project directory's `sluice.config.ts`, loaded when first needed. */
  readonly projectSpec?: ProjectSpec;
  /** Where OpenLineage events go; default from the `OPENLINEAGE_*` environment variables (off when none is set), `false` for off. */
  readonly lineage?: LineageConfig | false;
  /**
   * Flush the online store every this many ms instead of at every commit (see
   * `LmdbOnlineStoreConfig.flushEveryMs`): for long-running processes whose stream tables replay
   * from the durable log (`sluice serve`, `sluice worker`). Default: at every commit.
   */
  readonly onlineFlushEveryMs?: number;
}

export interface Platform extends SluiceContext {
  /** A new engine of its own (for work that must not share the main one, e.g. the stream processor); the caller closes it. */
  newEngine(threads?: number, options?: Pick<DuckDbEngineConfig, 'sandbox'>): Promise<SqlEngine>;
  /** The last applied project; a NotFoundError that says to run `sluice apply` when there is none. */
  project(): Promise<Project>;
  requestFunctions(project: Project): Promise<RequestFunctions>;
  close(): Promise<void>;
}

/**
 * Opens the embedded platform for a project: SQLite metadata, a Parquet lake, DuckDB for bulk
 * work and LMDB for online serving, all in `<projectDir>/.sluice`. The one place where concrete
 * adapters are chosen.
 *
 * @example
 * const platform = openPlatform({ projectDir: '.' });
 * const project = await platform.project();
 */
export function openPlatform(options: PlatformOptions): Platform {
  const dataDir = resolve(options.dataDir ?? join(options.projectDir, '.sluice'));
  privateDataDir(dataDir, (text) => process.stderr.write(`warning: ${text}\n`));
  const store = sqliteMetadataStore({ path: join(dataDir, 'metadata.db') });
  const audit = checkpointingAuditTrail(store.audit, {
    every: checkpointEveryFromEnv(process.env), key: () => auditSigningKey(dataDir),
    onError: (error) => process.stderr.write(`warning: the audit checkpoint was not made (${(error as Error).message})\n`),
  });
  const metadata: MetadataStore = { ...store, audit };
  let engine: Promise<SqlEngine> | undefined;
  let online: Promise<OnlineStore> | undefined;
  let log: Promise<EventLog> | undefined;
  const lineageConfig = options.lineage === undefined ? lineageConfigFromEnv(process.env) : options.lineage || undefined;
  const lineage = lineageConfig && lineageEmitter(lineageConfig, dataDir);
  // Per applied project: a failure is not kept, so a fixed project file is read again.
  const functions = new Map<string, Promise<RequestFunctions>>();
  const newEngine = (threads?: number, sandboxed: Pick<DuckDbEngineConfig, 'sandbox'> = {}) =>
    duckDbEngine({ ...(threads === undefined ? {} : { threads }), ...(process.env.SLUICE_MEMORY_LIMIT ? { memoryLimit: process.env.SLUICE_MEMORY_LIMIT } : {}), tempDirectory: join(dataDir, 'tmp'), ...sandboxed });
  return {
    metadata,
    lake: parquetLake(join(dataDir, 'lake')),
    dataDir,
    ...(lineage ? { lineage } : {}),
    now: options.now ?? Date.now,
    engine: () => (engine ??= newEngine(options.threads)),
    newEngine,
    online: () => (online ??= Promise.resolve(lmdbOnlineStore({ path: join(dataDir, 'online'), ...(options.onlineFlushEveryMs === undefined ? {} : { flushEveryMs: options.onlineFlushEveryMs }) }))),
    log: () => (log ??= Promise.resolve(lmdbEventLog({ path: join(dataDir, 'log') }))),
    async project() {
      const latest = await metadata.latestRegistry();
      if (!latest) throw new NotFoundError('NOT_APPLIED', `nothing is applied in ${dataDir}; run "sluice apply" first`);
      return latest.project;
    },
    requestFunctions(project) {
      if ((project.requestViews ?? []).length === 0) return Promise.resolve(new Map());
      let bound = functions.get(project.hash);
      if (!bound) {
        bound = (options.projectSpec ? Promise.resolve(options.projectSpec) : loadProjectSpec(options.projectDir)).then((spec) => bindRequestFunctions(spec, project));
        bound.catch(() => functions.delete(project.hash));
        functions.set(project.hash, bound);
      }
      return bound;
    },
    async close() {
      await Promise.all([engine && (await engine).close(), online && (await online).close(), log && (await log).close(), lineage?.close()]);
      await metadata.close();
    },
  };
}
