import { isStreamed, type Project, type Source } from '../definitions/index.js';
import type { ConnectorIncident, ConnectorSink, ConnectorStatus, RunningConnector, StartConnector } from '../ingest/connectors/connector.js';
import type { Platform } from '../platform.js';
import { streamCheckRecorder } from '../quality/stream-checks.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import type { EventLog } from '../storage/log/event-log.js';
import { materialize } from '../processing/materialize.js';
import { releaseDeadClaims } from '../ingest/deduplicate-events.js';
import { rebuildLostViews, type LostViewRebuilds } from '../orchestration/rebuild-lost-views.js';
import { DEFAULT_LEASE_TTL_MS } from '../orchestration/lease.js';
import { commitLogUpToHead, type LakeCommit } from './lake-committer.js';
import { compactionDue, compactSource } from '../orchestration/compact-lake.js';
import { DEFAULT_COMPACTION_POLICY, type CompactionPolicy } from '../storage/lake/compaction-plan.js';
import { ConflictError } from '../errors.js';
import { connectorLeases, type ConnectorRunner } from './connector-leases.js';
import { StreamProcessor, type StreamProcessorOptions } from './stream-processor.js';

export interface StreamRuntimeOptions {
  /** The current registry (it may change while running). */
  readonly project: () => Project;
  /** How often streamed events move from the log into the lake. Default 1 s. */
  readonly commitIntervalMs?: number;
  /** Connector starters by kind; connectors of the project's sources run when given. */
  readonly connectors?: Readonly<Record<string, StartConnector>>;
  readonly maxPendingBytes?: number;
  /** The memory budget of batches of events across all sources (see `StreamProcessorOptions.memoryBudget`). */
  readonly memoryBudget?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  readonly onVisible?: (view: string, ackTime: number, visibleAt: number) => void;
  readonly onAppended?: StreamProcessorOptions['onAppended'];
  /** What a connector saw upstream that a person must know (lost events, dropped columns); it is also logged. */
  readonly onConnectorIncident?: (source: string, incident: ConnectorIncident) => void;
  /**
   * The ttl of each connector's lease (default `DEFAULT_LEASE_TTL_MS`): one process runs a
   * connector, others stand by and take over once it stopped renewing the lease for this long
   * (at once when it stopped cleanly, or died on this host). See `connectorLeases`.
   */
  readonly connectorLeaseTtlMs?: number;
  /** Backoff between attempts to rebuild a batch view the online store lost (default 10 s to 10 min). */
  readonly rebuildBackoff?: { readonly baseMs: number; readonly maxMs: number };
  /** When a source's micro-batch files are compacted after a commit (`DEFAULT_COMPACTION_POLICY` unless given); false: never. */
  readonly compaction?: Partial<CompactionPolicy> | false;
}

/** Per stream or CDC source: where its log, lake and connector stand. */
export interface SourceStreamStatus {
  readonly source: string;
  readonly kind: 'stream' | 'cdc';
  /** The last durable log offset. */
  readonly offset: number;
  /** The last log offset committed to the lake. */
  readonly lakeOffset: number;
  readonly pendingBytes: number;
  /** Bytes of push bodies being received (as much as each declared, or has sent when it declared no length). */
  readonly receivingBytes: number;
  /** The oldest group of batches being processed: its stage and how long it has taken (a stuck push says where). */
  readonly inFlight?: { readonly batches: number; readonly stage: string; readonly forMs: number; readonly stageForMs: number };
  /** The connector's state while this process runs it; a connector whose start was refused is here as `failed` with the reason. */
  readonly connector?: ConnectorStatus;
  /** For a source whose connector this process can run: whether it is the active runner or stands by, and who holds the lease. */
  readonly runner?: ConnectorRunner;
}

export interface StreamRuntime {
  readonly processor: StreamProcessor;
  /** Batch views the online store lost (reset at open) being rebuilt in the background. */
  readonly rebuilds: LostViewRebuilds;
  status(): SourceStreamStatus[];
  /** Commits every source's log entries to the lake now (the timer does it every interval). */
  commitNow(): Promise<LakeCommit[]>;
  close(): Promise<void>;
}

const streamed = (project: Project): Array<Source & { readonly kind: 'stream' | 'cdc' }> => project.sources.filter(isStreamed);

/**
 * Runs the real-time platform in this process: the stream processor behind the push API and the
 * connectors, the connectors of the project's sources, and a timer that commits the log to the
 * lake (and lets online tables that are behind, e.g. after a materialize, catch up). Batch views
 * whose online table the store lost (see `rebuildLostViews`) are rebuilt in the background. Errors
 * in background work are logged and retried, never fatal.
 *
 * @example
 * const runtime = await startStreamRuntime(platform, { project: () => project });
 * await runtime.processor.append('payments', { texts: ['{"payment_id": "p1", ...}'] }, 'push');
 */
export async function startStreamRuntime(platform: Platform, options: StreamRuntimeOptions): Promise<StreamRuntime> {
  const log: EventLog = await platform.log();
  const online = await platform.online();
  const engine: SqlEngine = await platform.newEngine(1);
  const say = options.log ?? (() => undefined);
  const processor = new StreamProcessor({
    project: options.project, log, online, engine, now: platform.now,
    ...(options.maxPendingBytes === undefined ? {} : { maxPendingBytes: options.maxPendingBytes }),
    ...(options.memoryBudget === undefined ? {} : { memoryBudget: options.memoryBudget }),
    ...(options.onVisible ? { onVisible: options.onVisible } : {}),
    ...(options.onAppended ? { onAppended: options.onAppended } : {}),
    onChecked: streamCheckRecorder(platform, (error) => say('warn', `recording check results failed: ${error.message}`)),
    warn: (message) => say('warn', message),
    releaseDeadClaims: (source) => releaseDeadClaims(log, source, async (claim) => (await platform.metadata.findIngest(source, claim)) !== undefined),
    onReplayRefused: (refusal) => void platform.metadata.health.report({
      kind: 'replay_refused', subject: `view:${refusal.view}`, firing: true, severity: 'warn', message: refusal.message,
      details: { source: refusal.source, entry: refusal.entry, generation: refusal.generation, events: refusal.events, reason: refusal.reason },
    }, platform.now()).catch((error: unknown) => say('warn', `recording the replay refusal failed: ${(error as Error).message}`)),
    erasure: { erasure: platform.metadata.erasure, dataDir: platform.dataDir },
  });
  // Lake commits run on an engine of their own: on the processor's, a commit would hold up the
  // decoding of new batches (measured: commit-to-online lag p99 at 2,000 commits/s 3.4 s against 0.5 s).
  const lakeEngine: SqlEngine = await platform.newEngine(1);
  // Commits are one at a time (`commitNow`), so they have that engine to themselves.
  const exclusive = <T>(work: (e: SqlEngine) => Promise<T>) => work(lakeEngine);
  const connectors = new Map<string, RunningConnector>();
  /** Connectors whose start was refused (a table without a declared column, a bad setting): listed as failed, and retried. */
  const refused = new Map<string, ConnectorStatus>();
  /** Connectors being started, and connectors stopping after their lease was lost (none is started again before it stopped). */
  const starting = new Map<string, Promise<unknown>>();
  const stopping = new Map<string, Promise<void>>();
  let closing = false;
  const leases = connectorLeases(platform.metadata, {
    ...(options.connectorLeaseTtlMs === undefined ? {} : { ttlMs: options.connectorLeaseTtlMs }),
    onLost: (source, why) => {
      say('warn', `source "${source}": this process lost the lease of its connector (${why}): stopping it; another process runs it now, or this one takes it again once the lease is free`);
      const started = starting.get(source);
      stopping.set(source, (async () => {
        await started;
        const running = connectors.get(source);
        connectors.delete(source);
        refused.delete(source);
        await running?.stop().catch((error: unknown) => say('error', `source "${source}": stopping its connector failed: ${(error as Error).message}`));
        await leases.release(source).catch((error: unknown) => say('warn', `source "${source}": releasing its connector's lease failed (it expires instead): ${(error as Error).message}`));
      })().finally(() => stopping.delete(source)));
    },
  });
  const claimAndStart = async () => {
    for (const source of streamed(options.project())) {
      const start = source.connector && options.connectors?.[source.connector.kind];
      if (!start || connectors.has(source.name) || stopping.has(source.name) || closing) continue;
      // One active runner per connector: a process that does not hold its lease stands by.
      if (!(await leases.claim(source.name))) continue;
      const origin = source.connector!.kind;
      // What the connector last read (`position()`) or appended after it: each append is conditional on it, so a
      // second runner of the connector (another process) cannot append what this one read too (see `ConnectorSink`).
      let readAfter: string | null | undefined;
      const sink: ConnectorSink = {
        position: async () => {
          const stored = log.position(source.name, origin);
          readAfter = stored ?? null;
          return stored;
        },
        append: (texts, position, upstream) => {
          const after = readAfter;
          if (position !== undefined) readAfter = position;
          return processor.append(source.name, upstream === undefined ? { texts } : { texts, upstream }, origin, position, after);
        },
      };
      // A starter that throws at once is refused like one whose promise rejects.
      const started = Promise.resolve().then(() => start(source, sink, {
        log: (level, message) => say(level, `source "${source.name}": ${message}`),
        report: (incident) => options.onConnectorIncident?.(source.name, incident),
      }));
      starting.set(source.name, started.catch(() => undefined));
      try {
        connectors.set(source.name, await started);
        refused.delete(source.name);
      } catch (error) {
        // Retried at every commit; said again only when the reason changes. Its status says `failed` meanwhile.
        const lastError = (error as Error).message;
        if (refused.get(source.name)?.lastError !== lastError) say('error', `source "${source.name}": connector ${origin} did not start: ${lastError}`);
        refused.set(source.name, { source: source.name, kind: origin, state: 'failed', received: 0, lastError });
      } finally {
        starting.delete(source.name);
      }
    }
  };
  let claiming: Promise<void> | undefined;
  const startConnectors = () => (claiming ??= claimAndStart().catch((error: unknown) => say('error', `starting connectors failed (retrying): ${(error as Error).message}`)).finally(() => (claiming = undefined)));
  // A stream's views are served from the first event on: a view without a table gets one
  // (materialized from the lake, empty when there is nothing yet), and catches up from the log.
  const ensureTables = async () => {
    const project = options.project();
    const sources = new Set(streamed(project).map((s) => s.name));
    const missing: string[] = [];
    for (const view of project.featureViews) if (sources.has(view.source) && (await online.viewInfo(view.name)) === undefined) missing.push(view.name);
    if (missing.length > 0) await materialize(platform, project, { views: missing });
  };
  await ensureTables();
  const rebuilds = rebuildLostViews(platform, {
    project: options.project, log: say, newEngine: () => platform.newEngine(),
    ...(options.rebuildBackoff ? { backoffBaseMs: options.rebuildBackoff.baseMs, backoffMaxMs: options.rebuildBackoff.maxMs } : {}),
  });
  await startConnectors();
  const compaction = options.compaction === false ? undefined : { ...DEFAULT_COMPACTION_POLICY, ...options.compaction };
  // Bounded work per pass (the policy's maxFiles), on the lake engine, between commits; skipped while a purge of the source runs.
  const compactAfterCommit = async (project: Project, source: Source) => {
    if (compaction === undefined || !(await compactionDue(platform, source.name, compaction))) return;
    try {
      const report = await compactSource(platform, project, source.name, { policy: compaction, exclusive, leaseWaitMs: 0 });
      if (report.snapshot !== null) say('info', `source "${source.name}": compacted ${report.replaced} small lake files into ${report.written} (snapshot ${report.snapshot}: ${report.filesBefore} -> ${report.filesAfter} files)`);
    } catch (error) {
      if (!(error instanceof ConflictError && error.details?.lease === `purge:${source.name}`)) say('warn', `source "${source.name}": compacting its lake files failed (retried after the next commit): ${(error as Error).message}`);
    }
  };
  let committing: Promise<LakeCommit[]> | undefined;
  const commitNow = () => (committing ??= (async () => {
    const results: LakeCommit[] = [];
    const project = options.project();
    await ensureTables().catch((error: unknown) => say('error', `materializing the views of stream sources failed (retrying): ${(error as Error).message}`));
    await startConnectors();
    for (const source of streamed(project)) {
      try {
        const commits = await commitLogUpToHead({ ctx: platform, log, online, exclusive, erasure: { erasure: platform.metadata.erasure, dataDir: platform.dataDir } }, project, source);
        results.push(...commits);
        if (commits.some((c) => c.snapshot !== undefined)) await compactAfterCommit(project, source);
        const head = log.head(source.name);
        // While the processor takes batches of the source, it applies (and catches tables up to) every entry in order itself.
        if (head > 0 && !processor.busy(source.name)) await processor.applyOnline(project, source, head, platform.now(), undefined);
      } catch (error) {
        say('error', `source "${source.name}": committing streamed events to the lake failed (retrying): ${(error as Error).message}`);
      }
    }
    return results;
  })().finally(() => (committing = undefined)));
  const timer = setInterval(() => void commitNow(), options.commitIntervalMs ?? 1_000);
  timer.unref();
  // A standby takes a connector over at most a third of its lease's ttl (or a commit interval) after its holder is gone.
  const claimTimer = setInterval(() => void startConnectors(), Math.max(10, Math.min(options.commitIntervalMs ?? 1_000, Math.floor((options.connectorLeaseTtlMs ?? DEFAULT_LEASE_TTL_MS) / 3))));
  claimTimer.unref();
  return {
    processor,
    rebuilds,
    status: () => streamed(options.project()).map((source) => {
      const connector = connectors.get(source.name)?.status() ?? refused.get(source.name);
      const runner = leases.runner(source.name);
      const inFlight = processor.oldestGroup(source.name);
      return {
        source: source.name, kind: source.kind, offset: log.head(source.name), lakeOffset: log.checkpoint('lake', source.name), pendingBytes: processor.pendingBytes(source.name), receivingBytes: processor.receiving(source.name).bytes,
        ...(inFlight ? { inFlight } : {}),
        ...(connector ? { connector } : {}),
        ...(runner ? { runner } : {}),
      };
    }),
    commitNow,
    async close() {
      clearInterval(timer);
      clearInterval(claimTimer);
      closing = true;
      await claiming;
      await rebuilds.stop();
      // Stopped once each: a lease lost meanwhile (`onLost`) finds its connector already stopping.
      const closingConnectors = [...connectors.values()];
      connectors.clear();
      for (const running of closingConnectors) await running.stop().catch((error: unknown) => say('error', `stopping a connector failed: ${(error as Error).message}`));
      await Promise.all(stopping.values());
      // Only once its connector stopped (nothing in flight): a standby takes each over at once.
      await leases.releaseAll().catch((error: unknown) => say('warn', `releasing the connectors' leases failed (they expire instead): ${(error as Error).message}`));
      await processor.drained();
      await committing;
      await commitNow();
      await engine.close();
      await lakeEngine.close();
    },
  };
}
