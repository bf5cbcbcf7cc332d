import { hostname } from 'node:os';
import type { SluiceContext } from '../../context.js';
import { isStreamed, type Project } from '../../definitions/index.js';
import { DROPPED_COLUMNS_WAY, recordSchemaChangePart } from './report-schema-change.js';
import { CONNECTOR_LOST, connectorBeats } from './connector-beats.js';
import type { ConnectorIncident, ConnectorStatus } from '../../ingest/connectors/connector.js';

/** The condition kind of a connector that stopped for good (it needs a person: a dropped slot, a column it cannot read, a start refused). */
export const CONNECTOR_FAILED = 'connector_failed';
/** The condition kind of a connector that has been retrying (cannot connect, an upstream error) for longer than a bound. */
export const CONNECTOR_RETRYING = 'connector_retrying';

/** The condition kind of a source whose events upstream were removed before Sluice read them (a JetStream stream's limits). */
export const DATA_LOST = 'data_lost';
/** How long `data_lost` stays firing after its last gap: the loss cannot be undone, the condition makes sure a person saw it. */
export const DATA_LOST_SHOWN_MS = 24 * 3_600_000;
/** Gaps a `data_lost` condition lists (the newest); its `lostSequences` counts them all. */
const RANGES_KEPT = 20;

/** The health subject of a source's connector: `connector:<source>`. */
export const connectorSubject = (source: string): string => `connector:${source}`;

/** The streamed sources of a project that declare a connector, by name. */
export const connectorSources = (project: Project): string[] => project.sources.filter((s) => isStreamed(s) && s.connector !== undefined).map((s) => s.name);

export interface ConnectorHealthOptions {
  /** Retrying this long fires `connector_retrying` at `warn` (default 30 s): a short outage the connector rides out is no condition. */
  readonly retryingWarnAfterMs?: number;
  /** Retrying this long escalates it to `error` (default 5 min): nothing has arrived from upstream for that long. */
  readonly retryingErrorAfterMs?: number;
}

type Verdict = { readonly kind: string; readonly severity: 'warn' | 'error'; readonly message: string } | 'ok' | 'unchanged';

/** The condition kind of a declared connector that no process runs: the one that ran it stopped. */
export const CONNECTOR_STOPPED = 'connector_stopped';
/** How often a running process ends a `connector_stopped` that another process, stopping, left on a connector it runs too. */
const STOPPED_CHECK_EVERY_MS = 5_000;

/** What a process does with its connectors' health (see `connectorHealthWatch`). */
export interface ConnectorHealthWatch {
  /** Called with the states of the connectors the process runs, every second or so. */
  observe(connectors: readonly ConnectorStatus[]): Promise<void>;
  /** Called once as the process stops cleanly, with its connectors' last states (before they were stopped). */
  stopped(connectors: readonly ConnectorStatus[]): Promise<void>;
}

/**
 * Watches the connectors a process runs and keeps their health conditions (subject
 * `connector:<source>`): `connector_failed` (error) while a connector is `failed`,
 * `connector_retrying` while it has been `retrying` past `retryingWarnAfterMs` (warn) and past
 * `retryingErrorAfterMs` (error). Both end when the connector runs again; a condition left by an
 * earlier process ends at this process's first sight of the connector running. `starting` and
 * `stopped` change nothing. The store is written only when what a source's condition says
 * changes (its kind, severity or error), so calling it every second costs a map lookup per source.
 *
 * A process that stops cleanly calls `stopped`: each connector's condition becomes
 * `connector_stopped` (no process runs it; warn, or error when what it replaces was an error: a
 * failure nobody fixed), naming the process and the connector's last state. The first sight of
 * the connector in any state by a process ends it (another process that runs it too, within 5 s).
 *
 * While it runs connectors, `observe` also beats for each (`connectorBeats`: a lease renewed
 * every `CONNECTOR_BEAT_EVERY_MS`); `stopped` removes the beats. A process that dies without
 * `stopped` leaves beats that go stale: `reportLostConnectors` turns them into `connector_lost`,
 * which this process's first sight of the connector (or, for another process running it too,
 * the 5 s check) ends, as a clean stop does.
 *
 * @example
 * const health = connectorHealthWatch(platform);
 * setInterval(() => void health.observe(runtime.status().flatMap((s) => (s.connector ? [s.connector] : []))), 1_000);
 * await health.stopped(runtime.status().flatMap((s) => (s.connector ? [s.connector] : [])));
 */
export function connectorHealthWatch(ctx: SluiceContext, options: ConnectorHealthOptions = {}): ConnectorHealthWatch {
  const warnAfter = options.retryingWarnAfterMs ?? 30_000;
  const errorAfter = options.retryingErrorAfterMs ?? 300_000;
  const retryingSince = new Map<string, number>();
  const reported = new Map<string, string>();
  const verdict = (status: ConnectorStatus, now: number): Verdict => {
    const what = `source "${status.source}": connector ${status.kind}`;
    if (status.state !== 'retrying') retryingSince.delete(status.source);
    if (status.state === 'running') return 'ok';
    if (status.state === 'failed') {
      return { kind: CONNECTOR_FAILED, severity: 'error', message: `${what} failed: ${status.lastError ?? 'no error recorded'}; nothing arrives from it until that is fixed (the reason says how)` };
    }
    if (status.state !== 'retrying') return 'unchanged';
    const since = retryingSince.get(status.source) ?? now;
    retryingSince.set(status.source, since);
    const forMs = now - since;
    if (forMs < warnAfter) return 'unchanged';
    return {
      kind: CONNECTOR_RETRYING, severity: forMs >= errorAfter ? 'error' : 'warn',
      message: `${what} has been retrying since ${new Date(since).toISOString()}: ${status.lastError ?? 'no error recorded'}; nothing arrives from it meanwhile`,
    };
  };
  const detailsOf = (status: ConnectorStatus) => ({ source: status.source, connector: status.kind, state: status.state, ...(status.position === undefined ? {} : { position: status.position }), ...(status.lastError === undefined ? {} : { lastError: status.lastError }) });
  /** Reports each of `kinds` for the connector: `firing` the one `seen` names, ended the others. */
  const reportKinds = async (status: ConnectorStatus, seen: Exclude<Verdict, 'unchanged'>, kinds: readonly string[], now: number, details: Record<string, unknown> = detailsOf(status)) => {
    const ended = seen !== 'ok' && seen.kind === CONNECTOR_STOPPED ? 'stopped with the process that ran it' : `is ${status.state}`;
    for (const kind of kinds) {
      const firing = seen !== 'ok' && seen.kind === kind;
      await ctx.metadata.health.report({
        kind, subject: connectorSubject(status.source), firing, severity: firing ? seen.severity : 'error', details,
        message: firing ? seen.message : `source "${status.source}": connector ${status.kind} ${ended}`,
      }, now);
    }
  };
  const beats = connectorBeats(ctx);
  let lostCheckedAt = Number.NEGATIVE_INFINITY;
  let stoppedCheckedAt = Number.NEGATIVE_INFINITY;
  return {
    async observe(connectors) {
      const now = ctx.now();
      const subjects = new Set(connectors.map((c) => connectorSubject(c.source)));
      if (now - lostCheckedAt >= 60_000) {
        lostCheckedAt = now;
        await endShownDataLoss(ctx, subjects, now);
      }
      if (now - stoppedCheckedAt >= STOPPED_CHECK_EVERY_MS) {
        stoppedCheckedAt = now;
        for (const c of await ctx.metadata.health.list({ firing: true })) {
          const status = connectors.find((s) => connectorSubject(s.source) === c.subject);
          if (status !== undefined && (c.kind === CONNECTOR_STOPPED || c.kind === CONNECTOR_LOST)) await reportKinds(status, 'ok', [c.kind], now);
        }
      }
      await beats.beat(connectors.map((c) => c.source), now);
      for (const status of connectors) {
        const seen = verdict(status, now);
        const first = !reported.has(status.source);
        if (seen === 'unchanged' && !first) continue;
        const key = seen === 'ok' ? 'ok' : seen === 'unchanged' ? 'unchanged' : `${seen.kind}\u0000${seen.severity}\u0000${status.lastError ?? ''}`;
        if (reported.get(status.source) === key) continue;
        // A process running the connector, in any state, ends what a stopped one left.
        if (first) await reportKinds(status, 'ok', [CONNECTOR_STOPPED, CONNECTOR_LOST], now);
        if (seen !== 'unchanged') await reportKinds(status, seen, [CONNECTOR_FAILED, CONNECTOR_RETRYING], now);
        reported.set(status.source, key);
      }
    },
    async stopped(connectors) {
      const now = ctx.now();
      const firing = await ctx.metadata.health.list({ firing: true });
      for (const status of connectors) {
        const subject = connectorSubject(status.source);
        const was = firing.filter((c) => c.subject === subject && (c.kind === CONNECTOR_FAILED || c.kind === CONNECTOR_RETRYING));
        const state = `${status.state}${status.lastError === undefined ? '' : ` (${status.lastError})`}`;
        const seen = {
          kind: CONNECTOR_STOPPED, severity: was.some((c) => c.severity === 'error') || status.state === 'failed' ? 'error' as const : 'warn' as const,
          message: `source "${status.source}": connector ${status.kind} is not running: the process that ran it (pid ${process.pid} on ${hostname()}) stopped at ${new Date(now).toISOString()}; it was ${state}. Nothing arrives from it until sluice serve or sluice worker runs it again`,
        };
        const details = { source: status.source, connector: status.kind, lastState: status.state, ...(status.lastError === undefined ? {} : { lastError: status.lastError }), ...(status.position === undefined ? {} : { position: status.position }), pid: process.pid, host: hostname(), stoppedAt: new Date(now).toISOString() };
        await reportKinds(status, seen, [CONNECTOR_STOPPED, CONNECTOR_FAILED, CONNECTOR_RETRYING, CONNECTOR_LOST], now, details);
        reported.delete(status.source);
      }
      await beats.stop();
    },
  };
}

async function endShownDataLoss(ctx: SluiceContext, subjects: ReadonlySet<string>, now: number): Promise<void> {
  for (const seen of await ctx.metadata.health.list({ firing: true, kind: DATA_LOST })) {
    if (!subjects.has(seen.subject) || now - seen.updatedAt < DATA_LOST_SHOWN_MS) continue;
    // Checked again in the transaction that ends it: a gap another process recorded meanwhile keeps it.
    await ctx.metadata.health.update(DATA_LOST, seen.subject, (c) => (c === undefined || !c.firing || now - c.updatedAt < DATA_LOST_SHOWN_MS ? undefined
      : { firing: false, severity: 'error', message: `${c.message} (no new gap for 24 h: cleared)`, details: c.details ?? {} }), now);
  }
}

/**
 * Records what a connector saw upstream (see `ConnectorIncident`): events removed before Sluice
 * read them fire `data_lost` (error, subject `connector:<source>`) naming the sequences and
 * counting them (`details.lostSequences`, summed over every gap ever recorded: the
 * `sluice_connector_lost_sequences_total` counter); it stays firing until 24 h after the last
 * gap, ended by the process that runs the connector. Declared columns a table dropped fire
 * `schema_changed` (warn, subject `source:<name>`): their values are written as null.
 *
 * @example
 * await reportConnectorIncident(platform, 'payments', { kind: 'lost', from: 4, to: 8, message: '...' });
 */
export async function reportConnectorIncident(ctx: SluiceContext, source: string, incident: ConnectorIncident): Promise<void> {
  const now = ctx.now();
  if (incident.kind === 'columns_dropped') {
    await recordSchemaChangePart(ctx, source, DROPPED_COLUMNS_WAY, {
      severity: 'warn', input: 'connector', missing: incident.columns, retyped: [], nulled: incident.columns,
      message: `source "${source}": ${incident.message}; drop the column(s) from the source's schema once that is what you want (sluice plan shows what it means)`,
    }, '');
    return;
  }
  // One transaction from the count read to the count written: gaps two processes record at once are both counted.
  await ctx.metadata.health.update(DATA_LOST, connectorSubject(source), (current) => {
    const before = current?.details;
    const total = (typeof before?.lostSequences === 'number' ? before.lostSequences : 0) + (incident.to - incident.from + 1);
    const ranges = [...(Array.isArray(before?.ranges) ? before.ranges : []), { from: incident.from, to: incident.to, at: new Date(now).toISOString() }].slice(-RANGES_KEPT);
    return { firing: true, severity: 'error', details: { source, ranges, lostSequences: total }, message: `source "${source}": ${incident.message}` };
  }, now);
}
