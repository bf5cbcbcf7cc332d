import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RETRY_BACKOFF, isStreamed, type FeatureView, type Project } from '../definitions/index.js';
import type { SluiceContext } from '../context.js';
import { ConflictError, ValidationError } from '../errors.js';
import { materialize } from '../processing/materialize.js';
import type { SqlEngine } from '../storage/engine/sql-engine.js';
import { repeatInterrupts } from '../storage/engine/repeat-interrupts.js';
import { withLease } from './lease.js';
import { backoffDelay } from './run-attempts.js';


export interface LostViewRebuildOptions {
  /** The current registry (it may change while running). */
  readonly project: () => Project;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Exponential backoff with full jitter between attempts of one view (default a schedule's: 10 s to 10 min). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly random?: () => number;
  /**
   * A DuckDB of its own for each attempt (closed after it), so a rebuild shares no connection with
   * the process's other work; default the context's engine.
   */
  readonly newEngine?: () => Promise<SqlEngine>;
}

/** A lost view not rebuilt yet. */
export interface PendingRebuild {
  readonly view: string;
  /** Failed attempts so far. */
  readonly failures: number;
  readonly lastError: string | null;
  /** UTC epoch ms (wall clock) of the next attempt; null while one runs. */
  readonly nextAttemptAt: number | null;
}

export interface LostViewRebuilds {
  /** The lost views not rebuilt yet, by name. */
  pending(): PendingRebuild[];
  /** Resolves once no lost view is left to rebuild (every one rebuilt or no longer to rebuild), or once stopped. */
  settled(): Promise<void>;
  /**
   * Stops retrying, and stops an attempt that is running on an engine of its own (`newEngine`)
   * by interrupting it: a materialize still reading the lake fails (nothing is switched in; the
   * next start rebuilds the view), one past its reads finishes and switches in its whole table.
   * Resolves once the attempt has settled.
   */
  stop(): Promise<void>;
}

/**
 * The batch views (of sources that are not streamed) whose online table is missing: `lost` when the
 * metadata store records that their current definition was materialized (the online store lost
 * the table: see `MaterializedViewStore`), `outdated` when it records an earlier definition only.
 * A view never materialized is neither. Stream views are the stream runtime's (it builds any
 * missing one). A served table of the current definition with no record (materialized by a
 * version of Sluice before the record) is recorded, so a later loss finds it.
 */
export async function findLostViews(ctx: SluiceContext, project: Project): Promise<{ lost: FeatureView[]; outdated: FeatureView[] }> {
  const online = await ctx.online();
  const recorded = new Map((await ctx.metadata.materialized.list()).map((m) => [m.view, m.viewHash]));
  const streamedSources = new Set(project.sources.filter(isStreamed).map((s) => s.name));
  const lost: FeatureView[] = [];
  const outdated: FeatureView[] = [];
  for (const view of project.featureViews) {
    if (streamedSources.has(view.source)) continue;
    const hash = recorded.get(view.name);
    const table = await online.viewInfo(view.name);
    // A table of the current definition written before materialize recorded them (an earlier version): recorded now.
    if (table !== undefined && hash === undefined && table.viewHash === view.hash) {
      await ctx.metadata.materialized.record({ view: view.name, viewHash: table.viewHash, materializedAt: table.materializedAt, runId: null }, { ifAbsent: true });
    }
    // A record of an earlier definition beside a served table of the current one: a crash between the table's switch and its record. Set right under the view's lease (the table read again inside it), left to its holder when busy.
    if (table !== undefined && hash !== undefined && hash !== view.hash && table.viewHash === view.hash) await setRecordRight(ctx, view);
    if (hash === undefined || table !== undefined) continue;
    (hash === view.hash ? lost : outdated).push(view);
  }
  return { lost, outdated };
}

async function setRecordRight(ctx: SluiceContext, view: FeatureView): Promise<void> {
  try {
    await withLease(ctx.metadata, `materialize:${view.name}`, { purpose: `the record of view "${view.name}"` }, async () => {
      const table = await (await ctx.online()).viewInfo(view.name);
      if (table?.viewHash === view.hash) await ctx.metadata.materialized.record({ view: view.name, viewHash: table.viewHash, materializedAt: table.materializedAt, runId: null });
    });
  } catch (error) {
    // Held: its holder is materializing the view and records what it switches in.
    if (!(error instanceof ConflictError)) throw error;
  }
}

/**
 * Rebuilds in the background the views `findLostViews` finds lost, one at a time, at the snapshot
 * the lake has now: each with a `materialize` run (trigger `recovery`) under the view's
 * `materialize:<view>` lease, taken without waiting: a view another process is materializing is
 * checked again later, and one whose table is back by then (rebuilt by `sluice materialize` or
 * another `serve`/`worker`) is left alone. A failure is a failed run (run history, the
 * `job_failed` condition of `job:materialize:<view>`, so `sluice status`), logged, and retried
 * with backoff until it succeeds; a view whose definition changed or that left the registry
 * meanwhile is dropped (it needs `sluice materialize`, as after any change). Until its table is
 * back, a view answers NOT_MATERIALIZED, honestly.
 *
 * @example
 * const rebuilds = rebuildLostViews(platform, { project: () => project, log: (level, m) => logger[level](m) });
 * await rebuilds.settled();
 */
export function rebuildLostViews(ctx: SluiceContext, options: LostViewRebuildOptions): LostViewRebuilds {
  const policy = { backoffBaseMs: options.backoffBaseMs ?? DEFAULT_RETRY_BACKOFF.backoffBaseMs, backoffMaxMs: options.backoffMaxMs ?? DEFAULT_RETRY_BACKOFF.backoffMaxMs };
  const pending = new Map<string, PendingRebuild>();
  const stopping = new AbortController();
  const say = options.log;
  /** The engine of its own of the attempt running now, if any (interrupted by `stop`). */
  let attemptEngine: Promise<SqlEngine> | undefined;

  /** One attempt: true when the view needs no more (rebuilt, back, or no longer to rebuild). */
  const attempt = async (name: string, entry: PendingRebuild): Promise<boolean> => {
    let entered = false;
    try {
      const project = options.project();
      const view = project.featureViews.find((v) => v.name === name);
      const recorded = (await ctx.metadata.materialized.list()).find((m) => m.view === name);
      if (view === undefined || recorded?.viewHash !== view.hash) {
        say('warn', `view "${name}": ${view === undefined ? 'it left the registry' : 'its definition changed'} before its online table was rebuilt; not rebuilt by itself${view === undefined ? '' : `: run "sluice materialize --views ${name}"`}`);
        return true;
      }
      const started = Date.now();
      const outcome = await withLease(ctx.metadata, `materialize:${name}`, { purpose: `the rebuild of view "${name}"` }, async () => {
        entered = true;
        // Stopped while the lease was taken: no rebuild is started.
        stopping.signal.throwIfAborted();
        if ((await (await ctx.online()).viewInfo(name)) !== undefined) return undefined;
        const engine = options.newEngine?.();
        attemptEngine = engine;
        try {
          const scoped: SluiceContext = engine === undefined ? ctx : { ...ctx, engine: () => engine };
          return (await materialize(scoped, project, { views: [name], viewLeasesHeld: true, trigger: 'recovery' })).views[0];
        } finally {
          attemptEngine = undefined;
          await (await engine?.catch(() => undefined))?.close();
        }
      });
      if (outcome === undefined) say('info', `view "${name}": its online table is back (materialized meanwhile by another command or process); not rebuilt`);
      else say('info', `view "${name}": rebuilt from the lake (snapshot ${outcome.snapshot ?? '(empty)'}, ${outcome.entities} entities) in ${Date.now() - started} ms`);
      return true;
    } catch (error) {
      // Blocked by the view's error checks (or refused as invalid): the same data fails the same way; `sluice materialize` once it is fixed.
      if (entered && error instanceof ValidationError) {
        say('error', `view "${name}": rebuilding its online table was refused, not retried (the same data fails the same way): ${(error as Error).message}; fix what it names, then run "sluice materialize --views ${name}"`);
        return true;
      }
      if (stopping.signal.aborted) {
        say('info', `view "${name}": its rebuild was stopped (the process is stopping); the next start of "sluice serve" or "sluice worker" rebuilds it`);
        return false;
      }
      const busy = !entered && error instanceof ConflictError;
      const failures = busy ? entry.failures : entry.failures + 1;
      const delay = backoffDelay(Math.max(1, failures), policy, options.random);
      const message = (error as Error).message;
      if (busy) say('info', `view "${name}": being materialized by another command or process; checked again in ${delay} ms (${message})`);
      else say('error', `view "${name}": rebuilding its online table failed (attempt ${failures}; retrying in ${delay} ms): ${message}`);
      pending.set(name, { view: name, failures, lastError: busy ? entry.lastError : message, nextAttemptAt: Date.now() + delay });
      return false;
    }
  };

  const run = async (): Promise<void> => {
    const { lost, outdated } = await findLostViews(ctx, options.project());
    for (const view of outdated) say('warn', `view "${view.name}": its online table is missing; it was last materialized at an earlier definition, so it is not rebuilt by itself: run "sluice materialize --views ${view.name}"`);
    for (const view of lost) {
      say('warn', `view "${view.name}": its online table is missing although its current definition was materialized (the online store was reset, e.g. after a power loss); rebuilding it from the lake in the background (it answers NOT_MATERIALIZED until then)`);
      pending.set(view.name, { view: view.name, failures: 0, lastError: null, nextAttemptAt: Date.now() });
    }
    while (pending.size > 0 && !stopping.signal.aborted) {
      const next = [...pending.values()].reduce((a, b) => (b.nextAttemptAt! < a.nextAttemptAt! ? b : a));
      const wait = next.nextAttemptAt! - Date.now();
      if (wait > 0) {
        await sleep(wait, undefined, { signal: stopping.signal, ref: false }).catch(() => undefined);
        continue;
      }
      pending.set(next.view, { ...next, nextAttemptAt: null });
      if (await attempt(next.view, next)) pending.delete(next.view);
    }
  };
  const running = run().catch((error: unknown) => say('error', `looking for online tables lost by the online store failed: ${(error as Error).message}; run "sluice materialize" for views that answer NOT_MATERIALIZED`));

  return {
    pending: () => [...pending.values()].sort((a, b) => (a.view < b.view ? -1 : 1)),
    settled: () => running,
    async stop() {
      stopping.abort();
      // An attempt on an engine of its own is interrupted until it has stopped (the context's engine, shared, is not).
      const done = repeatInterrupts(() => void attemptEngine?.then((engine) => engine.interrupt(), () => undefined));
      try {
        await running;
      } finally {
        done();
      }
    },
  };
}
