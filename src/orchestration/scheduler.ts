import { Cron } from 'croner';
import type { Project, Schedule } from '../definitions/index.js';
import { schedulePrincipal } from '../compliance/access/authorize-job.js';
import { toIso } from '../time/index.js';
import { systemClock, type SchedulerClock } from './clock.js';
import { InterruptedError } from '../errors.js';
import { newLeaseHolder } from './lease.js';
import { projectSchedules } from './project-schedules.js';
import { runKeyed, type KeyedRunOutcome } from './run-attempts.js';
import type { JobContext } from './run-job.js';
import { reapDeadRuns } from './track-run.js';
import { dataSnapshot } from '../storage/metadata/data-snapshot.js';

export interface SchedulerOptions {
  /** The project to schedule, read again at every tick (so `sluice apply` takes effect); undefined while nothing is applied (the tick does nothing). */
  readonly project: () => Promise<Project | undefined>;
  readonly clock?: SchedulerClock;
  /** Jitter source for retry backoff; default Math.random. */
  readonly random?: () => number;
  /** How often `start` ticks; default 1 s. */
  readonly tickMs?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface Scheduler {
  /** Considers every schedule once at the clock's now: claims and starts each due firing; resolves with the run keys it started. */
  tick(): Promise<string[]>;
  /** Ticks every `tickMs` until `stop`; resolves once the first tick is done (the catch-up of missed firings has started). */
  start(): Promise<void>;
  /** Stops ticking, aborts the runs in flight (they fail, saying so) and waits for them. */
  /** Stops it: no run starts, and the runs in flight are stopped with `why` (see `StopCause`) and awaited. */
  stop(why?: StopCause): Promise<void>;
  /** Waits for the runs in flight. */
  idle(): Promise<KeyedRunOutcome[]>;
}

/** The run key of a cron firing: `<job>@<scheduled time ISO>`. */
export function firingKey(job: string, at: number): string {
  return `${job}@${toIso(at)}`;
}

/**
 * The latest firing of a cron schedule in `(after, upTo]`, in its time zone; undefined if none.
 *
 * @example
 * latestFiring({ cron: '0 9 * * *', timezone: 'Europe/Paris' }, t0, t1);
 */
export function latestFiring(schedule: Pick<Schedule, 'cron' | 'timezone'>, after: number, upTo: number): number | undefined {
  const cron = new Cron(schedule.cron!, { timezone: schedule.timezone, paused: true });
  // croner's previousRuns gives the latest firing strictly before its reference.
  const latest = cron.previousRuns(1, new Date(upTo + 1))[0]?.getTime();
  return latest !== undefined && latest > after && latest <= upTo ? latest : undefined;
}

/** Why a scheduler stops, for the runs it stops to record: `SIGTERM`, `its key was refused: ...`. */
export interface StopCause {
  readonly reason: string;
  /** The signal that stopped its process, if one did. */
  readonly signal?: NodeJS.Signals;
}

/**
 * The scheduler: at each tick, for each schedule of the project (`projectSchedules`: its own and the built-in ones), the latest firing due since
 * the schedule's cursor (catch-up policy: latest only, so a scheduler that was down runs each
 * schedule's last missed firing once, not every one), or the source's newest snapshot for an
 * `onNewSnapshot` trigger. Each gets an idempotent run key, claimed in the metadata store before
 * its run starts, so two schedulers, or a restarted one, never run a firing twice. A schedule
 * seen for the first time starts from now (nothing before it is "missed"). Runs go in the
 * background with the schedule's retries and timeout (see `runKeyed`).
 *
 * @example
 * const scheduler = createScheduler(jc, { project: () => platform.project() });
 * scheduler.start();
 */
export function createScheduler(jc: JobContext, options: SchedulerOptions): Scheduler {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const holder = newLeaseHolder();
  const inFlight = new Set<Promise<KeyedRunOutcome>>();
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  const launch = (project: Project, schedule: Schedule, key: string, trigger: 'schedule' | 'trigger', scheduledFor?: number): Promise<boolean> => {
    const claim = { key, job: schedule.job, trigger, holder, ...(scheduledFor === undefined ? {} : { scheduledFor }) };
    let started!: (claimed: boolean) => void;
    const claimedPromise = new Promise<boolean>((resolve) => (started = resolve));
    const run = runKeyed(jc, project, schedule.job, {
      claim, policy: schedule, clock, signal: stopping.signal, principal: schedulePrincipal(project, schedule), ...(options.random ? { random: options.random } : {}),
      onClaim: (claimed) => started(claimed),
      onRetry: (attempt, delayMs, error) => log('warn', `${key}: attempt ${attempt - 1} failed (${error.message}); retrying in ${delayMs} ms`),
    }).then((outcome) => {
      started(false);
      if (outcome.status === 'succeeded') log('info', `${key}: succeeded after ${outcome.attempts} attempt(s)`);
      if (outcome.status === 'failed') log('error', `${key}: failed after ${outcome.attempts} attempt(s): ${outcome.error.message}`);
      return outcome;
    }, (error: unknown) => {
      started(false);
      log('error', `${key}: could not run: ${(error as Error).message}`);
      return { status: 'failed', attempts: 0, error: error as Error } as const;
    });
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
    return claimedPromise;
  };

  const considerSchedule = async (project: Project, schedule: Schedule, now: number): Promise<string | undefined> => {
    const store = jc.metadata.schedules;
    const cursor = await store.cursor(schedule.name);
    if (schedule.cron !== undefined) {
      const at = cursor === undefined ? undefined : latestFiring(schedule, cursor, now);
      const key = at === undefined ? undefined : firingKey(schedule.job, at);
      // Claimed before the cursor moves: a scheduler that dies in between leaves the key, never a second run.
      const claimed = key !== undefined && (await launch(project, schedule, key, 'schedule', at));
      await store.advanceCursor(schedule.name, now);
      return claimed ? key : undefined;
    }
    const latest = await jc.metadata.latestSnapshot(schedule.onNewSnapshot!);
    const version = latest?.version ?? 0;
    // A compaction is no new data: the trigger is the newest snapshot of data.
    const snapshot = latest && (await dataSnapshot(jc.metadata, latest));
    if (cursor !== undefined && snapshot !== undefined && snapshot.version > cursor) {
      const key = `${schedule.job}@${snapshot.id}`;
      const claimed = await launch(project, schedule, key, 'trigger');
      await store.advanceCursor(schedule.name, version);
      return claimed ? key : undefined;
    }
    await store.advanceCursor(schedule.name, version);
    return undefined;
  };

  const tick = async (): Promise<string[]> => {
    if (stopping.signal.aborted) return [];
    const project = await options.project();
    if (project === undefined) return [];
    // A run whose process died (a crashed scheduler's, a killed CLI's) is failed and alerted now, not at the next job.
    for (const dead of await reapDeadRuns(jc, project)) log('error', `run ${dead.id} of ${dead.job} failed: ${dead.error ?? 'the process running it died'}`);
    const now = clock.now();
    const started: string[] = [];
    for (const schedule of projectSchedules(project)) {
      try {
        const key = await considerSchedule(project, schedule, now);
        if (key !== undefined) started.push(key);
      } catch (error) {
        log('error', `schedule "${schedule.name}": ${(error as Error).message}`);
      }
    }
    return started;
  };

  return {
    tick,
    start() {
      let first!: () => void;
      const firstTick = new Promise<void>((resolve) => (first = resolve));
      loop ??= (async () => {
        while (!stopping.signal.aborted) {
          await tick().catch((error: unknown) => log('error', `scheduler tick failed: ${(error as Error).message}`));
          first();
          await clock.sleep(options.tickMs ?? 1_000, stopping.signal);
        }
        first();
      })();
      return firstTick;
    },
    async stop(why) {
      stopping.abort(new InterruptedError('INTERRUPTED', `the scheduler stopped before the run finished${why ? ` (${why.reason})` : ''}`, why?.signal ? { details: { signal: why.signal } } : {}));
      await loop;
      await Promise.all(inFlight);
    },
    idle: () => Promise.all(inFlight),
  };
}
